package cloudwatchlogs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkPutLogEvents: signed PutLogEvents of 1,000-event batches over
// HTTP from 8 concurrent clients; every request returns once durable.
// Reports events/s.
func BenchmarkPutLogEvents(b *testing.B) {
	e := newTestEnv(b)
	now := time.Now()
	post := func(target, body string) {
		if st, code, msg := do(b, signedPost(b, e.srv.URL, target, []byte(body), testSecret, now)); st != 200 {
			b.Fatalf("%s: %d %s %s", target, st, code, msg)
		}
	}
	post(TargetPrefix+"CreateLogGroup", `{"logGroupName":"bench"}`)
	clients := 8
	if n, _ := strconv.Atoi(os.Getenv("WAGGLE_CWL_BENCH_CLIENTS")); n > 0 {
		clients = n
	}
	bodies := make([][]byte, clients)
	for c := range clients {
		post(TargetPrefix+"CreateLogStream", fmt.Sprintf(`{"logGroupName":"bench","logStreamName":"s%d"}`, c))
		bodies[c] = putBody(fmt.Sprintf("s%d", c), now.Add(-time.Minute).UnixMilli(), 1000, c)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if n >= b.N {
					mu.Unlock()
					return
				}
				n++
				mu.Unlock()
				r := signedPost(b, e.srv.URL, TargetPrefix+"PutLogEvents", bodies[c], testSecret, now)
				if st, code, msg := do(b, r); st != 200 {
					b.Errorf("%d %s %s", st, code, msg)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*1000)/time.Since(start).Seconds(), "events/s")
}

// putBody is a PutLogEvents body of n lines, one in four JSON.
func putBody(stream string, base int64, n, seed int) []byte {
	type ev struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	evs := make([]ev, n)
	for i := range evs {
		k := seed*n + i
		msg := fmt.Sprintf("INFO 10.0.%d.%d GET /api/activities/home 200 %dms user=%d", k%256, i%256, k%500, k%1000)
		switch k % 4 {
		case 0:
			msg = fmt.Sprintf(`{"level":"%s","latency":%d,"path":"/api/x/%d","trace_id":"%032x"}`, []string{"INFO", "ERROR"}[k%8/4], k%400, k%50, k+1)
		case 1:
			msg = fmt.Sprintf("ERROR timeout talking to db shard %d after %dms", k%16, k%3000)
		}
		evs[i] = ev{base + int64(i), msg}
	}
	out, _ := json.Marshal(map[string]any{"logGroupName": "bench", "logStreamName": stream, "logEvents": evs})
	return out
}

// TestLargeScale loads WAGGLE_CWL_BENCH_LINES lines (e.g. 10000000) through
// PutLogEvents and times FilterLogEvents with a term and a JSON pattern and
// an Insights stats count(*) by bin(5m). Skipped unless the variable is set.
func TestLargeScale(t *testing.T) {
	lines, _ := strconv.Atoi(os.Getenv("WAGGLE_CWL_BENCH_LINES"))
	if lines <= 0 {
		t.Skip("set WAGGLE_CWL_BENCH_LINES to run")
	}
	e := newTestEnv(t)
	now := time.Now()
	post := func(target, body string) string {
		st, code, msg := do(t, signedPost(t, e.srv.URL, target, []byte(body), testSecret, time.Now()))
		if st != 200 {
			t.Fatalf("%s: %d %s %s", target, st, code, msg)
		}
		return msg
	}
	post(TargetPrefix+"CreateLogGroup", `{"logGroupName":"bench"}`)
	const clients = 8
	for c := range clients {
		post(TargetPrefix+"CreateLogStream", fmt.Sprintf(`{"logGroupName":"bench","logStreamName":"s%d"}`, c))
	}
	// Lines spread over the last 20 hours, 1,000 per batch.
	batches := lines / 1000
	span := 20 * time.Hour.Milliseconds()
	base := now.Add(-21 * time.Hour).UnixMilli()
	began := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for bi := c; bi < batches; bi += clients {
				ts := base + span*int64(bi)/int64(batches)
				body := putBody(fmt.Sprintf("s%d", c), ts, 1000, bi)
				r := signedPost(t, e.srv.URL, TargetPrefix+"PutLogEvents", body, testSecret, time.Now())
				if st, code, msg := do(t, r); st != 200 {
					t.Errorf("%d %s %s", st, code, msg)
					return
				}
			}
		}()
	}
	wg.Wait()
	ingest := time.Since(began)
	t.Logf("ingest: %d lines in %v = %.0f lines/s", batches*1000, ingest.Round(time.Millisecond), float64(batches*1000)/ingest.Seconds())
	for _, pat := range []string{`"shard 5 "`, `{ $.level = "ERROR" && $.latency > 390 }`} {
		body, _ := json.Marshal(map[string]any{"logGroupName": "bench", "filterPattern": pat, "limit": 100})
		t0 := time.Now()
		out := post(TargetPrefix+"FilterLogEvents", string(body))
		var res struct{ Events []any }
		_ = json.Unmarshal([]byte(out), &res)
		t.Logf("FilterLogEvents %s: first page %d events in %v", pat, len(res.Events), time.Since(t0).Round(time.Millisecond))
	}
	qbody, _ := json.Marshal(map[string]any{"logGroupName": "bench", "startTime": base / 1000, "endTime": now.Unix(), "queryString": "stats count(*) by bin(5m)"})
	t0 := time.Now()
	var q struct{ QueryID string }
	_ = json.Unmarshal([]byte(post(TargetPrefix+"StartQuery", string(qbody))), &q)
	for {
		var res struct {
			Status  string
			Results [][]map[string]string
		}
		_ = json.Unmarshal([]byte(post(TargetPrefix+"GetQueryResults", `{"queryId":"`+q.QueryID+`"}`)), &res)
		if res.Status != "Running" {
			sum := 0
			for _, r := range res.Results {
				for _, f := range r {
					if f["field"] == "count(*)" {
						n, _ := strconv.Atoi(f["value"])
						sum += n
					}
				}
			}
			t.Logf("Insights stats count(*) by bin(5m): %s, %d bins, %d lines counted, %v", res.Status, len(res.Results), sum, time.Since(t0).Round(time.Millisecond))
			if sum != batches*1000 {
				t.Errorf("counted %d", sum)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = context.Background
	_ = bytes.NewReader
	_ = http.MethodPost
}
