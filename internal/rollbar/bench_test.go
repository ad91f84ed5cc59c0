package rollbar

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkOccurrences posts realistic pyrollbar payloads (the Flask
// capture, 100 distinct errors) concurrently over HTTP; each answer waits
// until the item change and the occurrence event are durable. Reports
// occurrences/s.
func BenchmarkOccurrences(b *testing.B) {
	e := newTestEnv(b, envOptions{})
	base, _ := capture(b, "001_pyrollbar_trace.json")
	var tmpl map[string]any
	if err := json.Unmarshal(base, &tmpl); err != nil {
		b.Fatal(err)
	}
	const distinct = 100
	payloads := make([][]byte, distinct)
	for i := range payloads {
		data := tmpl["data"].(map[string]any)
		delete(data, "uuid") // a new occurrence every time
		frames := data["body"].(map[string]any)["trace"].(map[string]any)["frames"].([]any)
		frames[len(frames)-1].(map[string]any)["method"] = fmt.Sprintf("helper_%c%c", 'a'+i%26, 'a'+i/26)
		payloads[i], _ = json.Marshal(tmpl)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	var n atomic.Int64
	b.SetBytes(int64(len(payloads[0])))
	b.SetParallelism(128)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			req, _ := http.NewRequest(http.MethodPost, e.base+"/api/1/item/", bytes.NewReader(payloads[i%distinct]))
			req.Header.Set("X-Rollbar-Access-Token", e.serverTok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "occurrences/s")
	items := e.listItems(b, "")
	var total int64
	for _, it := range items {
		total += it.TotalOccurrences
	}
	if len(items) != min(distinct, b.N) || total != int64(b.N) {
		b.Fatalf("%d items with %d occurrences, want %d and %d", len(items), total, min(distinct, b.N), b.N)
	}
}

// BenchmarkListItems100k measures GET /api/1/items (first page, and a
// filtered page) in an environment with 100,000 items.
func BenchmarkListItems100k(b *testing.B) {
	e := newTestEnv(b, envOptions{})
	const items = 100_000
	ctx := context.Background()
	levels := []string{"error", "warning", "critical", "info"}
	for start := 0; start < items; start += 5000 {
		obs := make([]*Observation, 0, 5000)
		for i := start; i < start+5000; i++ {
			obs = append(obs, &Observation{
				Hash: fmt.Sprintf("%040x", i), Title: fmt.Sprintf("Error %d in handler", i),
				Level: levels[i%len(levels)], Environment: "production", Class: "ValueError",
				OccurrenceID: int64(i + 1), Timestamp: int64(1_800_000_000 + i),
			})
		}
		if _, err := e.items.Observe(ctx, e.env, obs...); err != nil {
			b.Fatal(err)
		}
	}
	for _, q := range []string{"", "status=active&level=critical&page=3"} {
		b.Run("query="+q, func(b *testing.B) {
			for b.Loop() {
				var out itemsResult
				resp := e.do(b, http.MethodGet, "/api/1/items?"+q, e.readTok, nil, &out)
				if resp.StatusCode != 200 || len(out.Result.Items) != itemsPerPage {
					b.Fatalf("%d, %d items", resp.StatusCode, len(out.Result.Items))
				}
			}
		})
	}
}
