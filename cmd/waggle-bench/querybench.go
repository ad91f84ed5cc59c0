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

// timeIt runs f warmup+runs times and appends the timed runs to *out.
func timeIt(warmup, runs int, out *[]time.Duration, f func(i int) error) error {
	for i := 0; i < warmup+runs; i++ {
		t0 := time.Now()
		if err := f(i); err != nil {
			return err
		}
		if i >= warmup {
			*out = append(*out, time.Since(t0))
		}
	}
	return nil
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
	work, err := os.MkdirTemp(tmp, "query-data-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if err := copyDir(src, work); err != nil {
		return nil, fmt.Errorf("copy query data: %w", err)
	}

	var stats []*queryStat
	for i := range queries {
		q := &queries[i]
		if cfg.wantQuery(q.Name) {
			stats = append(stats, &queryStat{q: q, name: q.Name, title: q.Title, times: map[string][]time.Duration{}})
		}
	}
	var trace *queryStat
	if cfg.wantQuery(traceQuery) && len(m.TraceIDs) > 0 {
		trace = &queryStat{name: traceQuery, title: "all spans of one trace id (store.Trace)", times: map[string][]time.Duration{}}
	}
	start, end := m.Start, m.Start.Add(m.Window)
	env := event.EnvID(m.Env)

	res.loadBefore = loadAvg()
	m0, self0 := sampleMachine(), selfCPU()
	var serverCPU time.Duration
	t0 := time.Now()
	for round := 0; round < cfg.Rounds; round++ {
		log.Printf("queries: round %d of %d: through HTTP", round+1, cfg.Rounds)
		cpu, hwm, err := httpRound(ctx, cfg, bin, work, stats, start, end)
		if err != nil {
			return nil, err
		}
		serverCPU += cpu
		res.serverHWM = max(res.serverHWM, hwm)

		log.Printf("queries: round %d of %d: engine in-process", round+1, cfg.Rounds)
		if err := engineRound(ctx, cfg, work, env, stats, trace, m.TraceIDs, start, end); err != nil {
			return nil, err
		}
		log.Printf("queries: round %d of %d: raw SQL", round+1, cfg.Rounds)
		if err := rawRound(ctx, cfg, work, m, stats, trace); err != nil {
			return nil, err
		}
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
	res.stats = stats
	for _, s := range stats {
		log.Printf("%-32s http %8v  engine %8v  raw %8v", s.name,
			s.median(modeHTTP).Round(10*time.Microsecond), s.median(modeEngine).Round(10*time.Microsecond), s.median(modeRaw).Round(10*time.Microsecond))
	}
	return res, nil
}

// httpRound starts waggle on dir and times every query through the query
// API; it returns the server's CPU time and peak RSS.
func httpRound(ctx context.Context, cfg *config, bin, dir string, stats []*queryStat, start, end time.Time) (time.Duration, int64, error) {
	n, err := startNode(bin, dir, benchKey)
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
	for _, s := range stats {
		hq, err := newHTTPQuery(ctx, n, queryDataset, s.q.Spec(start, end))
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", s.name, err)
		}
		disableSeries := !s.q.Series
		disableTotals := !s.q.Defaults
		var out *httpOutput
		times := s.times[modeHTTP]
		err = timeIt(cfg.Warmup, cfg.Runs, &times, func(int) error {
			out, err = hq.run(ctx, disableSeries, disableTotals)
			return err
		})
		if err != nil {
			return 0, 0, fmt.Errorf("%s over HTTP: %w", s.name, err)
		}
		s.times[modeHTTP] = times
		s.wRows = out.rows()
		s.rows = len(s.wRows)
	}
	cpu1, _ := procCPU(n.pid())
	hwm, _ := procStatusBytes(n.pid(), "VmHWM")
	if err := n.stop(); err != nil {
		return 0, 0, err
	}
	return cpu1 - cpu0, hwm, nil
}

// engineRound opens the store in this process and times every query through
// query.Engine (no HTTP, no JSON), and the trace lookups through the store.
func engineRound(ctx context.Context, cfg *config, dir string, env event.EnvID, stats []*queryStat, trace *queryStat, ids []string, start, end time.Time) error {
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := duckdb.Open(duckdb.Options{Dir: dir, MemoryLimit: storeMemoryLimit, Logger: quiet})
	if err != nil {
		return err
	}
	defer st.Close()
	eng := query.NewEngine(st, honeycomb.NewQueryCatalog(st), query.WithLogger(quiet))
	for _, s := range stats {
		raw, err := json.Marshal(s.q.Spec(start, end))
		if err != nil {
			return err
		}
		spec, err := query.ParseSpec(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		opts := query.Options{
			DisableSeries:           !s.q.Series,
			DisableTotalByAggregate: !s.q.Defaults,
			DisableOtherByAggregate: !s.q.Defaults,
		}
		times := s.times[modeEngine]
		err = timeIt(cfg.Warmup, cfg.Runs, &times, func(int) error {
			_, err := eng.Run(ctx, env, []string{queryDataset}, spec, opts)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s in-process: %w", s.name, err)
		}
		s.times[modeEngine] = times
	}
	if trace != nil {
		times := trace.times[modeEngine]
		err := timeIt(cfg.Warmup, cfg.Runs, &times, func(i int) error {
			id := ids[i%len(ids)]
			evs, err := st.Trace(ctx, env, id)
			if err != nil {
				return err
			}
			if len(evs) == 0 {
				return fmt.Errorf("trace %s: no events", id)
			}
			trace.rows = len(evs)
			return nil
		})
		if err != nil {
			return fmt.Errorf("trace lookup: %w", err)
		}
		trace.times[modeEngine] = times
	}
	return st.Close()
}

// rawRound opens the files read-only in a plain DuckDB and times the
// hand-written SQL of every query.
func rawRound(ctx context.Context, cfg *config, dir string, m *manifest, stats []*queryStat, trace *queryStat) error {
	r, err := openRaw(ctx, dir, m.Env, m.Dataset)
	if err != nil {
		return fmt.Errorf("raw SQL: %w", err)
	}
	defer r.close()
	for _, s := range stats {
		if s.q.SQL == nil {
			continue
		}
		s.sql = s.q.SQL(r.t)
		times := s.times[modeRaw]
		err := timeIt(cfg.Warmup, cfg.Runs, &times, func(int) error {
			rows, err := r.query(ctx, s.sql)
			s.rawRows = rows
			return err
		})
		if err != nil {
			return fmt.Errorf("%s as SQL: %s: %w", s.name, s.sql, err)
		}
		s.times[modeRaw] = times
	}
	if trace != nil {
		trace.sql = "SELECT * FROM " + r.t.from + " WHERE " + r.t.col(colTrace) + " = ?"
		times := trace.times[modeRaw]
		err := timeIt(cfg.Warmup, cfg.Runs, &times, func(i int) error {
			id := m.TraceIDs[i%len(m.TraceIDs)]
			rows, err := r.query(ctx, trace.sql, id)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				return fmt.Errorf("trace %s: no rows", id)
			}
			trace.rawRows = rows
			return nil
		})
		if err != nil {
			return fmt.Errorf("trace as SQL: %w", err)
		}
		trace.times[modeRaw] = times
	}
	return nil
}
