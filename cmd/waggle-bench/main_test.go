package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/meta/pgtest"
)

// TestSmoke runs the whole harness at tiny scale — build, ingest through the
// real binary, generate query data, every query three ways, the report — so
// that `make bench` keeps working. Its figures mean nothing.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the waggle binary")
	}
	cfg, err := parseFlags([]string{
		"-ingest-encodings", "zstd", "-ingest-events", "20000", "-ingest-clients", "2", "-ingest-bodies", "4",
		"-events", "20000", "-rounds", "1", "-runs", "1", "-warmup", "0", "-cache", t.TempDir(),
	}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ingest) != 2 {
		t.Fatalf("%d ingest runs, want 2 (/1/batch and OTLP)", len(rep.ingest))
	}
	for _, in := range rep.ingest {
		if in.Acked != 20000 || in.Stored != in.AckedTotal {
			t.Errorf("ingest %s: %d acknowledged in the window, %d in all, %d stored; want 20000 and stored = all", in.Config.label(), in.Acked, in.AckedTotal, in.Stored)
		}
		if in.ServerCPU <= 0 || in.PeakRSS <= 0 {
			t.Errorf("ingest %s: server CPU %v, peak RSS %d; want both measured", in.Config.label(), in.ServerCPU, in.PeakRSS)
		}
	}
	if rep.ingest[1].Config.Protocol != "otlp" {
		t.Errorf("second ingest run is %q, want otlp", rep.ingest[1].Config.Protocol)
	}
	if rep.queries == nil || len(rep.queries.stats) != len(queries)+2 {
		t.Fatalf("query results missing")
	}
	for _, s := range rep.queries.stats {
		if s.check != "" && s.check != "ok" {
			t.Errorf("%s: waggle and SQL disagree: %s", s.name, s.check)
		}
		if len(s.times[modeHTTP]) != 1 {
			t.Errorf("%s: %d HTTP timings, want 1", s.name, len(s.times[modeHTTP]))
		}
		if s.q == nil || s.q.SQL != nil {
			if len(s.times[modeRaw]) != 1 || (s.name != traceSearchQuery && len(s.times[modeEngine]) != 1) {
				t.Errorf("%s: %d SQL and %d engine timings, want 1 each", s.name, len(s.times[modeRaw]), len(s.times[modeEngine]))
			}
		}
	}
	md := rep.markdown()
	for _, want := range []string{"## Targets", "## Ingest", "## Queries over 20,000 events", "`count_p95_by_name`", "`trace_by_id`", "`trace_search`", "OTLP/HTTP `/v1/traces`", "nproc"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestParseFlagsEnv(t *testing.T) {
	env := map[string]string{"BENCH_EVENTS": "1_000_000", "BENCH_DURATION": "20s", "BENCH_QUERIES": "sparse_attr"}
	cfg, err := parseFlags(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Events != 1000000 || cfg.IngestDuration != 20*time.Second || !cfg.wantQuery("sparse_attr") || cfg.wantQuery("count_p95_by_name") {
		t.Errorf("parsed %+v", cfg)
	}
	if _, err := parseFlags([]string{"-queries", "nope"}, func(string) string { return "" }); err == nil {
		t.Error("an unknown query name was accepted")
	}
}

// TestSmokeClickHouse runs the ClickHouse modes at tiny scale: OTLP ingest
// on one and two nodes sharing a ClickHouse (and PostgreSQL metadata), and
// the ClickHouse query phase. Skipped when ClickHouse or PostgreSQL is not
// installed.
func TestSmokeClickHouse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse, PostgreSQL and waggle")
	}
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		t.Skip("no clickhouse-server")
	}
	if _, err := pgtest.BinDir(); err != nil {
		t.Skip(err)
	}
	cfg, err := parseFlags([]string{
		"-only", "otlp,queries", "-store", "clickhouse", "-clickhouse-nodes", "1,2", "-clickhouse-events", "20000",
		"-ingest-events", "8000", "-ingest-clients", "2", "-ingest-bodies", "2", "-ingest-batch", "1000",
		"-runs", "1", "-warmup", "0", "-cache", t.TempDir(),
	}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ingest) != 2 || rep.ingest[1].Config.Nodes != 2 {
		t.Fatalf("%d ingest runs, want OTLP on 1 and 2 ClickHouse nodes", len(rep.ingest))
	}
	for _, in := range rep.ingest {
		if in.Acked != 8000 || in.Stored != in.AckedTotal {
			t.Errorf("%s: %d acknowledged, %d in all, %d stored", in.Config.label(), in.Acked, in.AckedTotal, in.Stored)
		}
	}
	if rep.queries != nil || rep.chQueries == nil || len(rep.chQueries.stats) != len(chQueryNames)+2 {
		t.Fatalf("want only the ClickHouse query results")
	}
	for _, s := range rep.chQueries.stats {
		if s.check != "" && s.check != "ok" {
			t.Errorf("%s on ClickHouse: %s", s.name, s.check)
		}
	}
	if md := rep.markdown(); !strings.Contains(md, "## Queries on ClickHouse over 20,000 events") || !strings.Contains(md, "ClickHouse, 2 nodes") {
		t.Errorf("report lacks the ClickHouse sections")
	}
}
