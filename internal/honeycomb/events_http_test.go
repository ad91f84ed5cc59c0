package honeycomb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// postRaw sends a request over a real HTTP connection and returns the
// status and body.
func postRaw(tb testing.TB, client *http.Client, u string, body []byte, header http.Header) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header = header
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestRawHTTPLibhoneyGo replays requests shaped exactly like libhoney-go's
// (msgpack or JSON, zstd with a 64 KiB window, its headers and URL
// escaping) over a real HTTP connection.
func TestRawHTTPLibhoneyGo(t *testing.T) {
	e := newEventsEnv(t, 0)
	srv := httptest.NewServer(e.handler)
	defer srv.Close()

	ts := testNow.Add(-time.Minute)
	items := make([]mpEvent, 120)
	for i := range items {
		items[i] = mpEvent{Data: map[string]any{"i": i, "svc": "go", "dur": float64(i) / 4}, Timestamp: &ts}
		if i%3 == 0 {
			items[i].SampleRate = 3
		}
	}
	jsonItems := make([]map[string]any, len(items))
	for i, it := range items {
		jsonItems[i] = map[string]any{"data": it.Data, "time": ts.Format(time.RFC3339Nano)}
		if it.SampleRate != 0 {
			jsonItems[i]["samplerate"] = it.SampleRate
		}
	}
	jsonBody, err := json.Marshal(jsonItems)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, ctype string
		body        []byte
	}{
		{"msgpack zstd", "application/msgpack", zstded(t, mustMsgpack(t, items))},
		{"json zstd", "application/json", zstded(t, jsonBody)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dataset := "go " + tc.name
			// libhoney-go: url.JoinPath(apiHost, "/1/batch", url.PathEscape(dataset))
			u, err := url.JoinPath(srv.URL, "/1/batch", url.PathEscape(dataset))
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set("Content-Type", tc.ctype)
			h.Set("Content-Encoding", "zstd")
			h.Set("User-Agent", "libhoney-go/1.27.1 go/1.26 (linux/amd64)")
			h.Set("X-Honeycomb-Team", keyFull)
			status, body := postRaw(t, srv.Client(), u, tc.body, h)
			if status != 200 {
				t.Fatalf("status %d %s", status, body)
			}
			var statuses []struct {
				Status int    `json:"status"`
				Error  string `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &statuses); err != nil || len(statuses) != len(items) {
				t.Fatalf("response %s: %v", body, err)
			}
			for i, s := range statuses {
				if s.Status != 202 {
					t.Errorf("event %d: %+v", i, s)
				}
			}
			evs := e.events(t, dataset)
			if len(evs) != len(items) {
				t.Fatalf("%d events stored", len(evs))
			}
			rates := 0
			for _, ev := range evs {
				f := rawFields(ev)
				i := f["i"].Int()
				// JSON writes float64(2) as 2, which reads back as an
				// integer; compare numerically.
				if f["svc"] != event.String("go") || !f["dur"].Type().Numeric() || f["dur"].Float() != float64(i)/4 || !ev.Time.Equal(ts) {
					t.Errorf("event %d: time %v fields %v", i, ev.Time, f)
				}
				if ev.SampleRate == 3 {
					rates++
				}
			}
			if rates != len(items)/3 {
				t.Errorf("%d events with sample rate 3, want %d", rates, len(items)/3)
			}
		})
	}
}

// BenchmarkBatchEndToEnd measures /1/batch through the handler, the
// pipeline and DuckDB: realistic 30-field events in batches of 1000,
// posted concurrently.
func BenchmarkBatchEndToEnd(b *testing.B) {
	e := newEventsEnv(b, 512<<20)
	const n = 1000
	jb, _ := batchBodies(b, n)
	body := zstded(b, jb)
	b.ReportAllocs()
	b.SetBytes(int64(len(jb)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := e.post(b, "/1/batch/bench", keyFull, body, "Content-Encoding", "zstd")
			if w.Code != 200 {
				panic(fmt.Sprintf("status %d: %s", w.Code, w.Body.String()))
			}
		}
	})
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}
