package honeycomb

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// realisticEvents returns n events shaped like libhoney/Beeline spans: about
// 30 fields of ids, names, HTTP attributes, durations, counters and flags.
func realisticEvents(n int) []map[string]any {
	rng := rand.New(rand.NewPCG(1, 2))
	routes := []string{"/api/activities/home", "/api/messages", "/api/users/@andrew/short", "/api/activities/search", "/health"}
	evs := make([]map[string]any, n)
	for i := range evs {
		route := routes[rng.IntN(len(routes))]
		evs[i] = map[string]any{
			"trace.trace_id":        fmt.Sprintf("%032x", rng.Uint64()),
			"trace.span_id":         fmt.Sprintf("%016x", rng.Uint64()),
			"trace.parent_id":       fmt.Sprintf("%016x", rng.Uint64()),
			"service.name":          "backend-flask",
			"service_name":          "backend-flask",
			"name":                  "GET " + route,
			"span.kind":             "server",
			"meta.type":             "http_request",
			"meta.beeline_version":  "3.6.0",
			"meta.local_hostname":   "ip-10-0-1-23",
			"http.method":           "GET",
			"http.route":            route,
			"http.target":           route + "?page=" + fmt.Sprint(rng.IntN(10)),
			"http.status_code":      200 + 100*rng.IntN(3),
			"http.user_agent":       "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
			"http.scheme":           "https",
			"http.host":             "api.cruddur.example",
			"http.flavor":           "1.1",
			"net.peer.ip":           fmt.Sprintf("10.0.%d.%d", rng.IntN(255), rng.IntN(255)),
			"net.host.port":         4567,
			"duration_ms":           rng.Float64() * 250,
			"db.rows":               rng.IntN(1000),
			"db.statement":          "SELECT * FROM activities WHERE user_uuid = $1 ORDER BY created_at DESC LIMIT 20",
			"app.user_id":           rng.IntN(100000),
			"app.cache_hit":         rng.IntN(2) == 1,
			"app.now":               time.Now().UTC().Format(time.RFC3339Nano),
			"app.result_length":     rng.IntN(50),
			"telemetry.sdk.name":    "opentelemetry",
			"telemetry.sdk.version": "1.25.0",
			"error":                 false,
		}
	}
	return evs
}

func batchBodies(b *testing.B, n int) (jsonBody, mpBody []byte) {
	b.Helper()
	evs := realisticEvents(n)
	ts := time.Now().UTC()
	jsonItems := make([]map[string]any, n)
	mpItems := make([]mpEvent, n)
	for i, d := range evs {
		jsonItems[i] = map[string]any{"data": d, "time": ts.Format(time.RFC3339Nano), "samplerate": 1}
		mpItems[i] = mpEvent{Data: d, Timestamp: &ts}
	}
	jb, err := json.Marshal(jsonItems)
	if err != nil {
		b.Fatal(err)
	}
	return jb, mustMsgpack(b, mpItems)
}

func BenchmarkDecodeBatchJSON(b *testing.B) {
	for _, n := range []int{50, 1000, 5000} {
		jb, _ := batchBodies(b, n)
		b.Run(fmt.Sprintf("events_%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(jb)))
			opt := decodeOptions{Dataset: "ds", Now: time.Now()}
			for b.Loop() {
				res, err := decodeBatchJSON(jb, opt)
				if err != nil || len(res.Events) != n {
					b.Fatal(err, len(res.Events))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}

func BenchmarkDecodeBatchMsgpack(b *testing.B) {
	for _, n := range []int{50, 1000, 5000} {
		_, mb := batchBodies(b, n)
		b.Run(fmt.Sprintf("events_%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(mb)))
			opt := decodeOptions{Dataset: "ds", Now: time.Now()}
			for b.Loop() {
				res, err := decodeBatchMsgpack(mb, opt)
				if err != nil || len(res.Events) != n {
					b.Fatal(err, len(res.Events))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}
