package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// peakRSS reads the peak resident set size of a process (VmHWM) in bytes.
func peakRSS(t testing.TB, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestOverloadAnswers429AndMemoryStaysBounded floods a server that has a small
// memory limit with large concurrent batches. It must shed load with 429 and
// Retry-After rather than queue without bound, acknowledge what it accepted,
// and keep its peak RSS near the configured limit.
func TestOverloadAnswers429AndMemoryStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const limit = 512 << 20
	n := startNode(t, t.TempDir(), "WAGGLE_API_KEY="+testKey, fmt.Sprintf("WAGGLE_MEMORY_LIMIT=%d", limit))

	// One 4.5 MB batch of wide events, sent by many clients at once.
	events := make([]map[string]any, 3000)
	for i := range events {
		e := map[string]any{"i": i}
		for f := 0; f < 25; f++ {
			e[fmt.Sprintf("field_%02d", f)] = strings.Repeat("x", 40) + strconv.Itoa(i*f)
		}
		events[i] = map[string]any{"data": e}
	}
	body, _ := json.Marshal(events)

	var ok, shed, other atomic.Int64
	var retryAfterSeen atomic.Bool
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 60 * time.Second}
	stopAt := time.Now().Add(8 * time.Second)
	for w := 0; w < 48; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stopAt) {
				req, _ := http.NewRequest("POST", n.base+"/1/batch/flood", bytes.NewReader(body))
				req.Header.Set("X-Honeycomb-Team", testKey)
				resp, err := client.Do(req)
				if err != nil {
					t.Logf("request failed: %v", err)
					other.Add(1)
					continue
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					ok.Add(1)
				case 429, 503:
					shed.Add(1)
					// Back off as libhoney does; a client that retries at
					// once only burns the CPU the server needs to drain.
					if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
						retryAfterSeen.Store(true)
						time.Sleep(time.Duration(ra) * time.Second / 4)
					}
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	rss := peakRSS(t, n.cmd.Process.Pid)
	t.Logf("accepted %d batches, shed %d, other %d; peak RSS %d MiB (limit %d MiB)", ok.Load(), shed.Load(), other.Load(), rss>>20, limit>>20)
	if ok.Load() == 0 {
		t.Fatal("nothing was accepted")
	}
	if shed.Load() == 0 {
		t.Fatal("the server never shed load under 48 concurrent 4.5 MB batches")
	}
	if !retryAfterSeen.Load() {
		t.Error("429/503 responses carried no Retry-After")
	}
	if other.Load() != 0 {
		t.Errorf("%d requests failed otherwise", other.Load())
	}
	// The limit bounds waggle's own memory; allow headroom for the engine's
	// fixed overhead and the runtime.
	if rss > limit*3/2 {
		t.Errorf("peak RSS %d MiB exceeds 1.5× the %d MiB limit", rss>>20, limit>>20)
	}
}
