// Command waggle-bench measures waggle on this machine and writes
// docs/BENCHMARKS.md (`make bench`). It builds the real binary and measures:
//
//   - ingest: `waggle serve` on a fresh data directory, fed pre-encoded
//     /1/batch bodies from concurrent lean HTTP clients for a fixed time;
//     it reports acknowledged events/s, the server's CPU time per event
//     (utime+stime from /proc), its peak RSS (VmHWM), and checks that the
//     count stored equals the count acknowledged;
//   - queries over a generated data set (10 M events by default, cached
//     under bench-data/ keyed by generator version and size): warm
//     latencies through the Honeycomb query API of the running binary, through
//     the query engine in-process, and as hand-written SQL on the same DuckDB
//     files opened read-only (the baseline), in the same run; plus trace
//     lookup by id through the store.
//
// Every setting is a flag with a BENCH_* environment default; see -h.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// defaultCache is where generated query data is kept between runs
// (git-ignored).
const defaultCache = "bench-data"

// config is one benchmark run.
type config struct {
	Out    string
	Bin    string
	Cache  string
	Phases map[string]bool

	IngestEncodings []string
	IngestClients   int
	IngestBatch     int
	IngestBodies    int
	IngestDuration  time.Duration
	IngestEvents    int64
	OTLPEncodings   []string

	// Stores: "duckdb" (embedded) and/or "clickhouse"; ClickHouse is a URL
	// or "auto" (a throwaway server started with chtest).
	Stores          []string
	ClickHouse      string
	ClickHouseNodes []int
	Meta            string // PostgreSQL URL for several nodes; "" starts one (pgtest)
	CHEvents        int64  // query data set size on ClickHouse

	Events  int64
	Rounds  int
	Runs    int
	Warmup  int
	Queries map[string]bool // empty: all

	// Args are the command-line arguments, for the report.
	Args []string
}

func parseFlags(args []string, getenv func(string) string) (*config, error) {
	fs := flag.NewFlagSet("waggle-bench", flag.ContinueOnError)
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	envInt := func(k string, def int64) int64 {
		if v := getenv(k); v != "" {
			if n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 64); err == nil {
				return n
			}
		}
		return def
	}
	envDur := func(k string, def time.Duration) time.Duration {
		if v := getenv(k); v != "" {
			if d, err := time.ParseDuration(v); err == nil {
				return d
			}
		}
		return def
	}
	c := &config{Args: args}
	fs.StringVar(&c.Out, "out", env("BENCH_OUT", ""), "write the Markdown report here (BENCH_OUT); empty prints it")
	fs.StringVar(&c.Bin, "bin", env("BENCH_BIN", ""), "waggle binary to run (BENCH_BIN); empty builds ./cmd/waggle afresh")
	fs.StringVar(&c.Cache, "cache", env("BENCH_CACHE", defaultCache), "directory caching generated query data (BENCH_CACHE)")
	only := fs.String("only", env("BENCH_ONLY", "ingest,otlp,queries"), "phases to run: ingest (/1/batch), otlp (OTLP/HTTP /v1/traces), queries (BENCH_ONLY)")
	otlpEnc := fs.String("otlp-encodings", env("BENCH_OTLP_ENCODINGS", "none"), "OTLP protobuf body encodings, each a run: none, gzip (BENCH_OTLP_ENCODINGS)")
	stores := fs.String("store", env("BENCH_STORE", "duckdb"), "stores to measure, each a run: duckdb, clickhouse (started by the harness), or a clickhouse://host:9000/db URL (BENCH_STORE)")
	fs.StringVar(&c.ClickHouse, "clickhouse", env("BENCH_CLICKHOUSE", ""), "\"auto\" or a clickhouse:// URL: also measure on ClickHouse (same as adding it to -store) (BENCH_CLICKHOUSE)")
	chNodes := fs.String("clickhouse-nodes", env("BENCH_CLICKHOUSE_NODES", "1,2"), "waggle nodes sharing ClickHouse in the ingest runs, each a run (BENCH_CLICKHOUSE_NODES)")
	fs.StringVar(&c.Meta, "meta", env("BENCH_META", ""), "PostgreSQL URL for the metadata of several nodes; empty starts one with pgtest (BENCH_META)")
	fs.Int64Var(&c.CHEvents, "clickhouse-events", envInt("BENCH_CLICKHOUSE_EVENTS", 1_000_000), "events in the ClickHouse query data set (BENCH_CLICKHOUSE_EVENTS)")
	enc := fs.String("ingest-encodings", env("BENCH_INGEST_ENCODINGS", "zstd,none"), "body encodings to measure ingest with, each a run: zstd, none (BENCH_INGEST_ENCODINGS)")
	fs.IntVar(&c.IngestClients, "ingest-clients", int(envInt("BENCH_INGEST_CLIENTS", 6)), "concurrent ingest connections (BENCH_INGEST_CLIENTS)")
	fs.IntVar(&c.IngestBatch, "ingest-batch", int(envInt("BENCH_INGEST_BATCH", 2000)), "events per /1/batch body (BENCH_INGEST_BATCH)")
	fs.IntVar(&c.IngestBodies, "ingest-bodies", int(envInt("BENCH_INGEST_BODIES", 32)), "distinct pre-encoded bodies replayed (BENCH_INGEST_BODIES)")
	fs.DurationVar(&c.IngestDuration, "ingest-duration", envDur("BENCH_DURATION", 45*time.Second), "how long each ingest run sends (BENCH_DURATION)")
	fs.Int64Var(&c.IngestEvents, "ingest-events", envInt("BENCH_INGEST_EVENTS", 0), "when > 0, send this many events per ingest run instead of for a duration (BENCH_INGEST_EVENTS)")
	fs.Int64Var(&c.Events, "events", envInt("BENCH_EVENTS", 10_000_000), "events in the query data set (BENCH_EVENTS)")
	fs.IntVar(&c.Rounds, "rounds", int(envInt("BENCH_ROUNDS", 1)), "query rounds, each with waggle restarted and the stores reopened (BENCH_ROUNDS)")
	fs.IntVar(&c.Runs, "runs", int(envInt("BENCH_RUNS", 10)), "timed runs of each query per round and mode (BENCH_RUNS)")
	fs.IntVar(&c.Warmup, "warmup", int(envInt("BENCH_WARMUP", 1)), "untimed warm-up runs of each query per round and mode (BENCH_WARMUP)")
	qs := fs.String("queries", env("BENCH_QUERIES", ""), "comma-separated query names to run; empty runs all (BENCH_QUERIES)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.Phases = map[string]bool{}
	for _, p := range splitList(*only) {
		if p != "ingest" && p != "otlp" && p != "queries" {
			return nil, fmt.Errorf("-only: unknown phase %q", p)
		}
		c.Phases[p] = true
	}
	for _, e := range splitList(*enc) {
		if e != "zstd" && e != "none" {
			return nil, fmt.Errorf("-ingest-encodings: unknown encoding %q", e)
		}
		c.IngestEncodings = append(c.IngestEncodings, e)
	}
	for _, e := range splitList(*otlpEnc) {
		if e != "gzip" && e != "none" {
			return nil, fmt.Errorf("-otlp-encodings: unknown encoding %q", e)
		}
		c.OTLPEncodings = append(c.OTLPEncodings, e)
	}
	for _, st := range splitList(*stores) {
		switch {
		case st == "duckdb":
			c.Stores = append(c.Stores, "duckdb")
		case st == "clickhouse" || st == "auto":
			c.ClickHouse = "auto"
		case strings.HasPrefix(st, "clickhouse://"):
			c.ClickHouse = st
		default:
			return nil, fmt.Errorf("-store: unknown store %q", st)
		}
	}
	if c.ClickHouse != "" {
		if c.ClickHouse != "auto" && !strings.HasPrefix(c.ClickHouse, "clickhouse://") {
			return nil, fmt.Errorf("-clickhouse: want auto or a clickhouse:// URL, got %q", c.ClickHouse)
		}
		c.Stores = append(c.Stores, "clickhouse")
	}
	for _, v := range splitList(*chNodes) {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 || k > 8 {
			return nil, fmt.Errorf("-clickhouse-nodes: bad count %q", v)
		}
		c.ClickHouseNodes = append(c.ClickHouseNodes, k)
	}
	known := map[string]bool{traceQuery: true, traceSearchQuery: true}
	for _, q := range queries {
		known[q.Name] = true
	}
	if list := splitList(*qs); len(list) > 0 {
		c.Queries = map[string]bool{}
		for _, q := range list {
			if !known[q] {
				return nil, fmt.Errorf("-queries: unknown query %q", q)
			}
			c.Queries[q] = true
		}
	}
	switch {
	case c.IngestClients < 1, c.IngestBatch < 1, c.IngestBodies < 1:
		return nil, fmt.Errorf("ingest clients, batch and bodies must be positive")
	case c.Events < 1000:
		return nil, fmt.Errorf("-events must be at least 1000")
	case c.Rounds < 1, c.Runs < 1, c.Warmup < 0:
		return nil, fmt.Errorf("-rounds and -runs must be positive")
	}
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *config) wantQuery(name string) bool { return len(c.Queries) == 0 || c.Queries[name] }

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("waggle-bench: ")
	cfg, err := parseFlags(os.Args[1:], os.Getenv)
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	if cfg.Out == "" {
		fmt.Print(rep.markdown())
		return
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Out), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(cfg.Out, []byte(rep.markdown()), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s", cfg.Out)
}

// run runs the configured phases.
func run(ctx context.Context, cfg *config) (*report, error) {
	rep := &report{cfg: cfg, started: time.Now().UTC(), machine: describeMachine()}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	rep.commit = gitDescribe(root)
	tmp, err := os.MkdirTemp("", "waggle-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := cfg.Bin
	if bin == "" {
		log.Printf("building waggle")
		if bin, err = buildWaggle(ctx, root, tmp); err != nil {
			return nil, err
		}
	}
	var ch *clickHouse
	if cfg.ClickHouse != "" {
		if cfg.ClickHouse == "auto" {
			log.Printf("starting ClickHouse (chtest)")
			if ch, err = startClickHouse(); err != nil {
				return nil, err
			}
			defer ch.close()
		} else {
			ch = &clickHouse{dsn: cfg.ClickHouse, close: func() {}}
		}
		rep.clickhouseVersion = clickhouseVersion()
	}
	var runs []ingestConfig
	base := ingestConfig{Bin: bin, Clients: cfg.IngestClients, Batch: cfg.IngestBatch,
		Bodies: cfg.IngestBodies, Duration: cfg.IngestDuration, Events: cfg.IngestEvents, TmpDir: tmp}
	var protos [][2]string
	if cfg.Phases["ingest"] {
		for _, enc := range cfg.IngestEncodings {
			protos = append(protos, [2]string{"batch", enc})
		}
	}
	if cfg.Phases["otlp"] {
		for _, enc := range cfg.OTLPEncodings {
			protos = append(protos, [2]string{"otlp", enc})
		}
	}
	for _, st := range cfg.Stores {
		for _, pe := range protos {
			c := base
			c.Protocol, c.Encoding, c.Store, c.Nodes = pe[0], pe[1], st, 1
			if st == "duckdb" {
				runs = append(runs, c)
				continue
			}
			for _, k := range cfg.ClickHouseNodes {
				c.Nodes = k
				runs = append(runs, c)
			}
		}
	}
	var metaURL string
	for _, c := range runs {
		if c.Store == "clickhouse" {
			c.NodeEnv = []string{"WAGGLE_STORE=" + ch.freshDSN("ingest")}
			c.StoreCPU = ch.cpu
			if c.Nodes > 1 {
				if metaURL == "" {
					if metaURL = cfg.Meta; metaURL == "" {
						log.Printf("starting PostgreSQL (pgtest) for the metadata of %d nodes", c.Nodes)
						u, stop, err := startPostgres()
						if err != nil {
							return nil, err
						}
						defer stop()
						metaURL = u
					}
				}
				// A fresh metadata schema per run: a database of its own.
				u, err := freshPGDatabase(ctx, metaURL)
				if err != nil {
					return nil, err
				}
				c.NodeEnv = append(c.NodeEnv, "WAGGLE_META="+u, "WAGGLE_MASTER_KEY="+masterKey())
			}
		}
		r, err := runIngest(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("ingest (%s): %w", c.label(), err)
		}
		rep.ingest = append(rep.ingest, r)
	}
	if cfg.Phases["queries"] {
		cache := cfg.Cache
		if !filepath.IsAbs(cache) {
			cache = filepath.Join(root, cache)
		}
		if slices.Contains(cfg.Stores, "duckdb") {
			if rep.queries, err = runQueries(ctx, cfg, bin, cache, tmp); err != nil {
				return nil, fmt.Errorf("queries: %w", err)
			}
		}
		if ch != nil {
			if rep.chQueries, err = runCHQueries(ctx, cfg, bin, ch, tmp); err != nil {
				return nil, fmt.Errorf("queries on ClickHouse: %w", err)
			}
		}
	}
	rep.finished = time.Now().UTC()
	return rep, nil
}
