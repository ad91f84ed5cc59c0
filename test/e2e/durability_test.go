package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

const testKey = "e2e-test-key-0123456789abcdef"

// sendBatch posts events to /1/batch and reports whether every event was
// acknowledged with 202.
func sendBatch(client *http.Client, base, key, dataset string, events []map[string]any) (bool, error) {
	body := make([]map[string]any, len(events))
	for i, e := range events {
		body[i] = map[string]any{"data": e}
	}
	buf, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+"/1/batch/"+dataset, bytes.NewReader(buf))
	req.Header.Set("X-Honeycomb-Team", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return false, nil
	}
	var statuses []struct {
		Status int `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&statuses); err != nil {
		return false, err
	}
	if len(statuses) != len(events) {
		return false, fmt.Errorf("got %d statuses for %d events", len(statuses), len(events))
	}
	for _, s := range statuses {
		if s.Status != 202 {
			return false, nil
		}
	}
	return true, nil
}

// TestKill9LosesNothingAcknowledged sends batches from several clients, kills
// the server with SIGKILL in the middle of the load, restarts it on the same
// data directory and checks that every batch that got a 2xx is there, whole.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, "WAGGLE_API_KEY="+testKey)

	const workers, perWorker, batchSize = 6, 100, 200
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				id := fmt.Sprintf("w%d-b%03d", w, i)
				events := make([]map[string]any, batchSize)
				for j := range events {
					events[j] = map[string]any{"batch": id, "seq": j, "duration_ms": float64(j) / 3, "endpoint": "/api/" + id}
				}
				ok, err := sendBatch(client, n.base, testKey, "durability", events)
				if err != nil {
					return // the server was killed
				}
				if ok {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}()
	}
	// Kill once a good number of batches were acknowledged, with requests
	// still in flight.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		got := len(acked)
		mu.Unlock()
		if got >= 60 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	n.kill()
	wg.Wait()
	mu.Lock()
	ackedNow := append([]string(nil), acked...)
	mu.Unlock()
	if len(ackedNow) == 0 {
		t.Fatalf("no batch was acknowledged before the kill\nstderr:\n%s", n.stderr)
	}

	n2 := startNode(t, dir, "WAGGLE_API_KEY="+testKey)
	rows := n2.query(testKey, "durability", map[string]any{
		"calculations": []map[string]any{{"op": "COUNT"}},
		"breakdowns":   []string{"batch"},
		"time_range":   3600,
		"limit":        1000,
	})
	counts := map[string]float64{}
	for _, r := range rows {
		id, _ := r["batch"].(string)
		c, _ := r["COUNT"].(float64)
		counts[id] = c
	}
	for _, id := range ackedNow {
		if counts[id] != batchSize {
			t.Errorf("acknowledged batch %s has %v events after the crash, want %d", id, counts[id], batchSize)
		}
	}
	// A batch is committed whole or not at all.
	for id, c := range counts {
		if c != batchSize {
			t.Errorf("batch %s is partially stored: %v events", id, c)
		}
	}
	t.Logf("%d batches acknowledged before SIGKILL, %d stored after restart", len(ackedNow), len(counts))
}

// TestGracefulShutdownKeepsEverything stops the server with SIGTERM right
// after a burst of writes and finds every acknowledged event after a restart.
func TestGracefulShutdownKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, "WAGGLE_API_KEY="+testKey)
	client := &http.Client{Timeout: 30 * time.Second}
	total := 0
	for i := 0; i < 20; i++ {
		events := make([]map[string]any, 50)
		for j := range events {
			events[j] = map[string]any{"i": i*50 + j}
		}
		ok, err := sendBatch(client, n.base, testKey, "graceful", events)
		if err != nil || !ok {
			t.Fatalf("batch %d: ok=%v err=%v", i, ok, err)
		}
		total += len(events)
	}
	n.stop()
	n2 := startNode(t, dir, "WAGGLE_API_KEY="+testKey)
	rows := n2.query(testKey, "graceful", map[string]any{
		"calculations": []map[string]any{{"op": "COUNT"}, {"op": "COUNT_DISTINCT", "column": "i"}},
		"time_range":   3600,
	})
	if len(rows) != 1 || rows[0]["COUNT"] != float64(total) || rows[0]["COUNT_DISTINCT(i)"] != float64(total) {
		t.Fatalf("after restart: %v, want COUNT and COUNT_DISTINCT(i) = %d", rows, total)
	}
}
