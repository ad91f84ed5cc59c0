package clickhouse

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/clickhouse/chtest"
	"github.com/waggle-hq/waggle/internal/store/storetest"
)

var dbSeq atomic.Int64

// TestMain shares one ClickHouse server among the package's tests (each
// uses databases of its own); TestSharded starts its own two-shard cluster.
func TestMain(m *testing.M) { os.Exit(chtest.Run(m)) }

// opener opens stores in fresh databases of the given server, through dsn
// extra parameters (e.g. a cluster).
func opener(srv *chtest.Server, extra string) storetest.Opener {
	return func(t testing.TB) store.Store {
		db := fmt.Sprintf("waggle_test_%d", dbSeq.Add(1))
		opts, err := ParseDSN(srv.DSN(db, extra))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestConformance(t *testing.T) {
	srv := chtest.Shared(t)
	storetest.Run(t, opener(srv, ""))
}

// TestSharded writes and reads through Distributed tables over two shards
// (two servers, no ZooKeeper): rows land on both shards, and queries,
// traces and retention work unchanged.
func TestSharded(t *testing.T) {
	srvs := chtest.StartCluster(t, "waggle", 2)
	s := opener(srvs[0], "cluster=waggle")(t)
	defer s.Close()
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	var evs []event.Event
	for i := range 1000 {
		e := event.Event{Time: t0.Add(time.Duration(i) * time.Second), Dataset: "spans", SampleRate: 1}
		e.Set("trace.trace_id", event.String(fmt.Sprintf("t%03d", i/10)))
		e.Set("duration_ms", event.Float(float64(i%100)))
		e.Set("sparse", event.Int(int64(i)))
		evs = append(evs, e)
	}
	if err := s.Write(ctx, event.Batch{Env: 1, Events: evs}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Execute(ctx, 1, &query.Plan{Datasets: []string{"spans"}, Start: t0, End: t0.Add(time.Hour),
		Aggregates: []query.Aggregate{{Op: query.AggCount}, {Op: query.AggSum, Column: "sparse"}, {Op: query.AggPercentile, Column: "duration_ms", P: 0.5}}})
	if err != nil {
		t.Fatal(err)
	}
	if v := r.Groups[0].Values; v[0].Number != 1000 || v[1].Number != 499500 || v[2].Number != 49 {
		t.Fatalf("count, sum, p50 over two shards: %+v", v)
	}
	tr, err := s.Trace(ctx, 1, "t042")
	if err != nil || len(tr) != 10 {
		t.Fatalf("trace over two shards: %d events, %v", len(tr), err)
	}
	// Both shards hold rows.
	for i, srv := range srvs {
		db := ch.OpenDB(&ch.Options{Addr: []string{srv.TCPAddr}})
		var n uint64
		err := db.QueryRow("SELECT count() FROM " + s.(*Store).q(s.(*Store).opts.Database) + ".events_local").Scan(&n)
		db.Close()
		if err != nil || n == 0 || n == 1000 {
			t.Fatalf("shard %d holds %d rows (%v); want part of 1000", i, n, err)
		}
	}
	// Retention drops the partitions on every shard.
	if err := s.EnforceRetention(ctx, time.Now().Add(100*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r, err = s.Execute(ctx, 1, &query.Plan{Datasets: []string{"spans"}, Start: t0, End: t0.Add(time.Hour),
		Aggregates: []query.Aggregate{{Op: query.AggCount}}})
	if err != nil || r.Groups[0].Values[0].Number != 0 {
		t.Fatalf("after retention: %+v %v", r, err)
	}
}
