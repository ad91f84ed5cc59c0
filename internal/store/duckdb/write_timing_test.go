package duckdb

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// benchEvents generates span-like events: 26 fixed fields (high-cardinality
// trace, span and user ids), plus 10 sparse string and 10 sparse numeric
// attributes each present in 10% of events — about 28 fields per event.
func benchEvents(r *rand.Rand, n int, t0 time.Time) []event.Event {
	services := []string{"frontend", "cart", "checkout", "payments", "search"}
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	evs := make([]event.Event, n)
	for i := range evs {
		trace := fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())
		fs := make([]event.Field, 0, 32)
		add := func(k string, v event.Value) { fs = append(fs, event.Field{Key: k, Value: v}) }
		svc := services[r.IntN(len(services))]
		add("service.name", event.String(svc))
		add("name", event.String(fmt.Sprintf("%s op %d", svc, r.IntN(40))))
		add("trace.trace_id", event.String(trace))
		add("trace.span_id", event.String(fmt.Sprintf("%016x", r.Uint64())))
		add("trace.parent_id", event.String(fmt.Sprintf("%016x", r.Uint64())))
		add("duration_ms", event.Float(math.Exp(r.NormFloat64()*1.5+3)))
		add("http.method", event.String(methods[r.IntN(len(methods))]))
		add("http.route", event.String(fmt.Sprintf("/api/v1/resource/%d", r.IntN(50))))
		status := int64(200)
		if r.IntN(50) == 0 {
			status = 500
		}
		add("http.status_code", event.Int(status))
		add("user.id", event.String(fmt.Sprintf("user-%06d", r.IntN(100000))))
		add("span.kind", event.String("server"))
		add("status_code", event.Int(0))
		add("error", event.Bool(status == 500))
		add("meta.signal_type", event.String("trace"))
		add("library.name", event.String("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"))
		add("library.version", event.String("0.60.0"))
		add("host.name", event.String(fmt.Sprintf("host-%02d", r.IntN(20))))
		add("cloud.region", event.String("eu-west-1"))
		add("k8s.pod.name", event.String(fmt.Sprintf("%s-7d9f8b-%05d", svc, r.IntN(200))))
		add("k8s.namespace.name", event.String("prod"))
		add("net.peer.port", event.Int(int64(30000+r.IntN(30000))))
		add("http.request_content_length", event.Int(r.Int64N(100000)))
		add("http.response_content_length", event.Int(r.Int64N(1000000)))
		add("span.num_events", event.Int(r.Int64N(3)))
		add("span.num_links", event.Int(0))
		add("telemetry.sdk.version", event.String("1.35.0"))
		for j := 0; j < 10; j++ {
			if r.IntN(10) == 0 {
				add(fmt.Sprintf("app.attr_s%d", j), event.String(fmt.Sprintf("value-%d", r.IntN(1000))))
			}
			if r.IntN(10) == 0 {
				add(fmt.Sprintf("app.attr_n%d", j), event.Float(r.Float64()*1000))
			}
		}
		evs[i] = event.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Dataset: svc, SampleRate: 1, Fields: fs}
	}
	return evs
}

// BenchmarkWrite measures Write with batches of 5,000 realistic events (as
// the ingest pipeline's group commits deliver them), reporting events/s.
func BenchmarkWrite(b *testing.B) {
	for _, batch := range []int{5000, 50000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchmarkWrite(b, batch) })
	}
}

func benchmarkWrite(b *testing.B, batch int) {
	dir := b.TempDir()
	s, err := Open(Options{Dir: dir, MemoryLimit: 2 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Now().UTC().Add(-time.Hour)
	const pool = 4
	batches := make([][]event.Event, pool)
	for i := range batches {
		batches[i] = benchEvents(r, batch, t0.Add(time.Duration(i*batch)*time.Millisecond))
	}
	ctx := context.Background()
	// Warm up: create datasets and columns.
	if err := s.Write(ctx, event.Batch{Env: 1, Events: batches[0]}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	m := newWriteMeter(dir)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Write(ctx, event.Batch{Env: 1, Events: batches[i%pool]}); err != nil {
			b.Fatal(err)
		}
		m.sampleWAL()
	}
	b.StopTimer()
	m.report(b, b.N*batch)
}
