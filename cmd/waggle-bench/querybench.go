package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
)

// Modes a query is measured in.
const (
	modeHTTP   = "http"   // the running binary's query API
	modeEngine = "engine" // query.Engine over the store, in this process
	modeRaw    = "raw"    // hand-written SQL on the same files
)

// queryStat collects one query's timings.
type queryStat struct {
	q       *benchQuery // nil for the trace lookup
	name    string
	title   string
	times   map[string][]time.Duration
	cpu     map[string][]time.Duration // CPU time of each timed run
	sql     string
	check   string // "" not checked, "ok", or the mismatch
	rows    int    // result rows (trace: events found)
	wRows   []map[string]any
	rawRows [][]any
}

func (s *queryStat) median(mode string) time.Duration { return median(s.times[mode]) }

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minMax(ds []time.Duration) (time.Duration, time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	lo, hi := ds[0], ds[0]
	for _, d := range ds {
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}

// queryResults is the query phase's outcome.
type queryResults struct {
	m          *manifest
	generated  bool
	stats      []*queryStat
	serverHWM  int64         // server's peak RSS over the HTTP runs
	wall       time.Duration // whole phase
	busyOthers float64       // average busy CPUs not ours during the phase
	loadBefore string
	loadAfter  string
}

func runQueries(ctx context.Context, cfg *config, bin, cache, tmp string) (*queryResults, error) {
	log.Printf("query data: %d events", cfg.Events)
	src, m, generated, err := queryData(ctx, cache, cfg.Events)
	if err != nil {
		return nil, fmt.Errorf("query data: %w", err)
	}
	if !generated {
		log.Printf("query data: using the cached %s", src)
	}
	res := &queryResults{m: m, generated: generated}
	// Three byte-identical copies of the data directory: one for the waggle
	// binary, one for the engine in this process, one opened read-only for
	// the SQL baseline. DuckDB locks a file it writes to, so separate copies
	// are what let all three be open at once and alternate run by run.
	var dirs [3]string
	for i := range dirs {
		if dirs[i], err = os.MkdirTemp(tmp, "query-data-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dirs[i])
		if err := copyDir(src, dirs[i]); err != nil {
			return nil, fmt.Errorf("copy query data: %w", err)
		}
	}

	var stats []*queryStat
	for i := range queries {
		q := &queries[i]
		if cfg.wantQuery(q.Name) {
			stats = append(stats, &queryStat{q: q, name: q.Name, title: q.Title, times: map[string][]time.Duration{}, cpu: map[string][]time.Duration{}})
		}
	}
	var trace *queryStat
	if cfg.wantQuery(traceQuery) && len(m.TraceIDs) > 0 {
		trace = &queryStat{name: traceQuery, title: "all spans of one trace id (HTTP: `GET /api/v1/traces/{id}`; engine: `store.Trace`)", times: map[string][]time.Duration{}, cpu: map[string][]time.Duration{}}
	}
	var search *queryStat
	if cfg.wantQuery(traceSearchQuery) {
		search = &queryStat{name: traceSearchQuery, title: fmt.Sprintf("trace search: `GET /api/v1/traces?service=%s&min_duration_ms=%d` over the two hours (root spans, newest 50, with span and error counts and services)", filterService, searchMinDurationMS),
			times: map[string][]time.Duration{}, cpu: map[string][]time.Duration{}}
	}

	res.loadBefore = loadAvg()
	m0, self0 := sampleMachine(), selfCPU()
	var serverCPU time.Duration
	t0 := time.Now()
	for round := 0; round < cfg.Rounds; round++ {
		log.Printf("queries: round %d of %d", round+1, cfg.Rounds)
		cpu, hwm, err := queryRound(ctx, cfg, bin, dirs, m, stats, trace, search)
		if err != nil {
			return nil, err
		}
		serverCPU += cpu
		res.serverHWM = max(res.serverHWM, hwm)
	}
	res.wall = time.Since(t0)
	ours := (serverCPU + selfCPU() - self0).Seconds() / res.wall.Seconds()
	res.busyOthers = max(0, busyCores(m0, sampleMachine(), res.wall)-ours)
	res.loadAfter = loadAvg()

	for _, s := range stats {
		if s.q.Check != nil && s.wRows != nil && s.rawRows != nil {
			if err := s.q.Check(s.wRows, s.rawRows); err != nil {
				s.check = err.Error()
				log.Printf("%s: waggle and SQL disagree: %v", s.name, err)
			} else {
				s.check = "ok"
			}
		}
	}
	if trace != nil {
		// Both modes looked up the same id last.
		if len(trace.rawRows) == trace.rows {
			trace.check = "ok"
		} else {
			trace.check = fmt.Sprintf("%d events, SQL finds %d", trace.rows, len(trace.rawRows))
		}
		stats = append(stats, trace)
	}
	if search != nil {
		if len(search.rawRows) == search.rows {
			search.check = "ok"
		} else {
			search.check = fmt.Sprintf("%d traces, SQL finds %d", search.rows, len(search.rawRows))
		}
		stats = append(stats, search)
	}
	res.stats = stats
	for _, s := range stats {
		log.Printf("%-32s http %8v  engine %8v  raw %8v", s.name,
			s.median(modeHTTP).Round(10*time.Microsecond), s.median(modeEngine).Round(10*time.Microsecond), s.median(modeRaw).Round(10*time.Microsecond))
	}
	return res, nil
}

// queryRound starts waggle on dirs[0], opens the store in this process on
// dirs[1] and a plain DuckDB on dirs[2], and runs every query in all three,
// alternating run by run (rotating which goes first) so that the machine's
// noise hits them alike. It returns the server's CPU time and peak RSS.
func queryRound(ctx context.Context, cfg *config, bin string, dirs [3]string, m *manifest, stats []*queryStat, trace, search *queryStat) (time.Duration, int64, error) {
	start, end := m.Start, m.Start.Add(m.Window)
	env := event.EnvID(m.Env)

	n, err := startNode(bin, dirs[0], benchKey)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		select {
		case <-n.exited:
		default:
			n.kill()
		}
	}()
	cpu0, _ := procCPU(n.pid())
	serverCPU := func() time.Duration { return threadsCPU(n.pid()) }

	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := duckdb.Open(duckdb.Options{Dir: dirs[1], MemoryLimit: storeMemoryLimit, Logger: quiet})
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	eng := query.NewEngine(st, honeycomb.NewQueryCatalog(st), query.WithLogger(quiet))

	raw, err := openRaw(ctx, dirs[2], m.Env, m.Dataset)
	if err != nil {
		return 0, 0, fmt.Errorf("raw SQL: %w", err)
	}
	defer raw.close()

	for _, s := range stats {
		hq, err := newHTTPQuery(ctx, n, queryDataset, s.q.Spec(start, end))
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", s.name, err)
		}
		disableSeries, disableTotals := !s.q.Series, !s.q.Defaults
		specJSON, err := json.Marshal(s.q.Spec(start, end))
		if err != nil {
			return 0, 0, err
		}
		spec, err := query.ParseSpec(specJSON)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", s.name, err)
		}
		opts := query.Options{DisableSeries: disableSeries, DisableTotalByAggregate: disableTotals, DisableOtherByAggregate: disableTotals}
		modes := []mode{
			{modeHTTP, func(int) error {
				out, err := hq.run(ctx, disableSeries, disableTotals)
				if err != nil {
					return fmt.Errorf("%s over HTTP: %w", s.name, err)
				}
				s.wRows = out.rows()
				s.rows = len(s.wRows)
				return nil
			}, serverCPU},
			{modeEngine, func(int) error {
				if _, err := eng.Run(ctx, env, []string{queryDataset}, spec, opts); err != nil {
					return fmt.Errorf("%s in-process: %w", s.name, err)
				}
				return nil
			}, selfCPU},
		}
		if s.q.SQL != nil {
			s.sql = s.q.SQL(raw.t)
			modes = append(modes, mode{modeRaw, func(int) error {
				rows, err := raw.query(ctx, s.sql)
				if err != nil {
					return fmt.Errorf("%s as SQL: %s: %w", s.name, s.sql, err)
				}
				s.rawRows = rows
				return nil
			}, selfCPU})
		}
		if err := alternate(cfg, s, modes); err != nil {
			return 0, 0, err
		}
	}
	if trace != nil {
		ids := m.TraceIDs
		trace.sql = "SELECT * FROM " + raw.t.from + " WHERE " + raw.t.col(colTrace) + " = ?"
		modes := []mode{
			{modeHTTP, func(i int) error {
				var out struct {
					Spans []json.RawMessage `json:"spans"`
				}
				code, body, err := n.do(ctx, "GET", "/api/v1/traces/"+ids[i%len(ids)], nil, &out)
				if err != nil {
					return fmt.Errorf("GET /api/v1/traces/{id}: %w", err)
				}
				if code != 200 {
					return fmt.Errorf("GET /api/v1/traces/{id}: %d %.300s", code, body)
				}
				trace.rows = len(out.Spans)
				return nil
			}, serverCPU},
			{modeEngine, func(i int) error {
				if _, err := st.Trace(ctx, env, ids[i%len(ids)]); err != nil {
					return fmt.Errorf("trace lookup: %w", err)
				}
				return nil
			}, selfCPU},
			{modeRaw, func(i int) error {
				rows, err := raw.query(ctx, trace.sql, ids[i%len(ids)])
				if err != nil {
					return fmt.Errorf("trace as SQL: %w", err)
				}
				trace.rawRows = rows
				return nil
			}, selfCPU},
		}
		if err := alternate(cfg, trace, modes); err != nil {
			return 0, 0, err
		}
	}
	if search != nil {
		search.sql = searchSQL(raw.t, start, end)
		path := fmt.Sprintf("/api/v1/traces?service=%s&min_duration_ms=%d&start=%d&end=%d&limit=50",
			filterService, searchMinDurationMS, start.Unix(), end.Unix())
		modes := []mode{
			{modeHTTP, func(int) error {
				var out struct {
					Traces []json.RawMessage `json:"traces"`
				}
				code, body, err := n.do(ctx, "GET", path, nil, &out)
				if err != nil {
					return fmt.Errorf("GET %s: %w", path, err)
				}
				if code != 200 {
					return fmt.Errorf("GET %s: %d %.300s", path, code, body)
				}
				search.rows = len(out.Traces)
				return nil
			}, serverCPU},
			{modeRaw, func(int) error {
				rows, err := raw.query(ctx, search.sql)
				if err != nil {
					return fmt.Errorf("trace search as SQL: %s: %w", search.sql, err)
				}
				search.rawRows = rows
				return nil
			}, selfCPU},
		}
		if err := alternate(cfg, search, modes); err != nil {
			return 0, 0, err
		}
	}
	cpu1, _ := procCPU(n.pid())
	hwm, _ := procStatusBytes(n.pid(), "VmHWM")
	if err := n.stop(); err != nil {
		return 0, 0, err
	}
	if err := st.Close(); err != nil {
		return 0, 0, err
	}
	return cpu1 - cpu0, hwm, nil
}

// mode is one way of running a query; run gets the run's index, cpu
// reads the CPU time of the process that does the work.
type mode struct {
	name string
	run  func(i int) error
	cpu  func() time.Duration
}

// alternate runs cfg.Warmup untimed and cfg.Runs timed runs of every mode,
// interleaved: run i of every mode, then run i+1, the first mode rotating.
func alternate(cfg *config, s *queryStat, modes []mode) error {
	for i := 0; i < cfg.Warmup+cfg.Runs; i++ {
		for k := range modes {
			md := modes[(i+k)%len(modes)]
			c0, t0 := md.cpu(), time.Now()
			if err := md.run(i); err != nil {
				return err
			}
			if i >= cfg.Warmup {
				s.times[md.name] = append(s.times[md.name], time.Since(t0))
				s.cpu[md.name] = append(s.cpu[md.name], md.cpu()-c0)
			}
		}
	}
	return nil
}

// traceSearchQuery names the trace search in the results.
const traceSearchQuery = "trace_search"

// searchMinDurationMS is the trace search's min_duration_ms.
const searchMinDurationMS = 200

// searchSQL is the trace search as a person would write it: the newest 50
// root spans of the service at least searchMinDurationMS long in the
// window, then the spans of those traces for their counts and services.
func searchSQL(t *rawTable, start, end time.Time) string {
	return fmt.Sprintf(`WITH r AS (SELECT %[1]s AS tid, ts FROM %[2]s WHERE %[3]s IS NULL AND %[4]s = '%[5]s' AND %[6]s >= %[7]d AND ts >= %[8]d AND ts < %[9]d ORDER BY ts DESC LIMIT 50) `+
		`SELECT r.tid, any_value(r.ts) AS rts, count(*), count(*) FILTER (WHERE s.%[10]s), list(DISTINCT s.%[4]s) FROM r JOIN %[2]s s ON s.%[1]s = r.tid GROUP BY r.tid ORDER BY rts DESC`,
		t.col(colTrace), t.from, t.col("trace.parent_id"), t.col(colService), filterService, t.col(colDuration), searchMinDurationMS,
		start.UnixNano(), end.UnixNano(), t.col("error"))
}
