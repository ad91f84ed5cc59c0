package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
	chstore "github.com/waggle-hq/waggle/internal/store/clickhouse"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// chQueryNames are the queries run on ClickHouse too: the core ones.
var chQueryNames = []string{"count_p95_by_name", "count_p95_by_name_status500", "count_p95_by_name_svc_status500", "count_distinct_users", "sparse_attr"}

// chResults is the ClickHouse query phase's outcome.
type chResults struct {
	events    int64
	loadWall  time.Duration
	stats     []*queryStat
	serverHWM int64
	wall      time.Duration
	chBytes   int64 // ClickHouse's bytes on disk for the events table
	loadCPU   time.Duration
}

// runCHQueries loads n generated events into a fresh ClickHouse database
// through the store's Write, then runs the core queries, the trace lookup
// and the trace search through a waggle node on it (HTTP), through the
// engine in this process, and as hand-written ClickHouse SQL over its HTTP
// interface, alternating run by run.
func runCHQueries(ctx context.Context, cfg *config, bin string, ch *clickHouse, tmp string) (*chResults, error) {
	if ch.http == "" {
		return nil, fmt.Errorf("the ClickHouse query phase needs a server the harness started (-clickhouse auto): it uses its HTTP interface for the SQL baseline")
	}
	n := cfg.CHEvents
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := os.MkdirTemp(tmp, "ch-query-")
	if err != nil {
		return nil, err
	}
	mdb, err := meta.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	svc, err := tenant.NewService(ctx, mdb, quiet)
	if err != nil {
		mdb.Close()
		return nil, err
	}
	boot, err := svc.Bootstrap(ctx, tenant.BootstrapOptions{APIKey: benchKey})
	mdb.Close()
	if err != nil {
		return nil, err
	}
	env := boot.Environment.ID
	dsn := ch.freshDSN("query")
	opts, err := chstore.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	opts.Logger = quiet
	st, err := chstore.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, _, err := st.CreateDataset(ctx, env, store.DatasetInfo{Name: queryDataset, Retention: 20 * 365 * 24 * time.Hour}); err != nil {
		return nil, err
	}
	res := &chResults{events: n}
	g := newGenerator(1, queryDataStart, queryDataWindow, n)
	var traceIDs []string
	every := n / 20
	cpu0 := ch.cpu() + selfCPU()
	t0 := time.Now()
	for i := int64(0); i < n; {
		k := min(int64(50000), n-i)
		evs := make([]event.Event, k)
		for j := range evs {
			evs[j] = g.next(queryDataset)
			if every > 0 && (i+int64(j))%every == every/2 && len(traceIDs) < 20 {
				v, _ := evs[j].Get(colTrace)
				traceIDs = append(traceIDs, v.Str())
			}
		}
		if err := st.Write(ctx, event.Batch{Env: env, Events: evs}); err != nil {
			return nil, fmt.Errorf("write to ClickHouse: %w", err)
		}
		i += k
	}
	res.loadWall = time.Since(t0)
	res.loadCPU = ch.cpu() + selfCPU() - cpu0
	log.Printf("clickhouse: %d events written in %v (%.0f/s)", n, res.loadWall.Round(time.Millisecond), float64(n)/res.loadWall.Seconds())

	db := strings.Trim(must(url.Parse(dsn)).Path, "/")
	sqlc := &chSQL{base: "http://" + ch.http + "/?database=" + url.QueryEscape(db)}
	if out, err := sqlc.query(ctx, "OPTIMIZE TABLE events FINAL"); err != nil {
		log.Printf("clickhouse: OPTIMIZE: %v %s", err, out)
	}
	if out, err := sqlc.query(ctx, "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = '"+db+"' AND table = 'events'"); err == nil {
		fmt.Sscan(strings.TrimSpace(out), &res.chBytes)
	}
	// Physical names: hot columns are typed columns, the rest array slots
	// keyed by column id.
	dsID, err := sqlc.query(ctx, "SELECT id FROM datasets FINAL WHERE name = '"+queryDataset+"' AND deleted = 0")
	if err != nil {
		return nil, err
	}
	dsID = strings.TrimSpace(dsID)
	colRows, err := sqlc.query(ctx, "SELECT name, id FROM columns FINAL WHERE dataset = "+dsID+" AND deleted = 0")
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(colRows), "\n") {
		if k, v, ok := strings.Cut(line, "\t"); ok {
			ids[k] = v
		}
	}
	sparse := func(col, typ string) string {
		return fmt.Sprintf("%s_values[indexOf(%s_keys, %s)]", typ, typ, ids[col])
	}
	where := fmt.Sprintf("env = %d AND dataset = %s", env, dsID)
	sqls := map[string]string{
		"count_p95_by_name":               fmt.Sprintf("SELECT name, count() AS c, quantileExact(0.95)(duration_ms) FROM events WHERE %s GROUP BY name ORDER BY c DESC", where),
		"count_p95_by_name_status500":     fmt.Sprintf("SELECT name, count() AS c, quantileExact(0.95)(duration_ms) FROM events WHERE %s AND has(i_keys, %s) AND %s >= 500 GROUP BY name ORDER BY c DESC", where, ids[colStatus], sparse(colStatus, "i")),
		"count_p95_by_name_svc_status500": fmt.Sprintf("SELECT name, count() AS c, quantileExact(0.95)(duration_ms) FROM events WHERE %s AND service_name = '%s' AND has(i_keys, %s) AND %s >= 500 GROUP BY name ORDER BY c DESC", where, filterService, ids[colStatus], sparse(colStatus, "i")),
		"count_distinct_users":            fmt.Sprintf("SELECT uniqExact(%s) FROM events WHERE %s AND has(s_keys, %s)", sparse(colUser, "s"), where, ids[colUser]),
		"sparse_attr":                     fmt.Sprintf("SELECT count() FROM events WHERE %s AND %s = '%s'", where, sparse(colSparse, "s"), sparseValue),
		traceQuery:                        fmt.Sprintf("SELECT * FROM events WHERE %s AND trace_id = '%%s' FORMAT TSV", where),
	}

	node, err := startNode(bin, dir, benchKey, "WAGGLE_STORE="+dsn)
	if err != nil {
		return nil, err
	}
	defer func() {
		select {
		case <-node.exited:
		default:
			node.kill()
		}
	}()
	// CPU per run: waggle's plus ClickHouse's (/proc/<pid>/stat of the
	// whole server, exited threads included; 10 ms ticks), so that the
	// three modes count the same work.
	serverCPU := func() time.Duration { return threadsCPU(node.pid()) + ch.cpu() }
	engineCPU := func() time.Duration { return selfCPU() + ch.cpu() }
	eng := query.NewEngine(st, honeycomb.NewQueryCatalog(st), query.WithLogger(quiet))
	start, end := queryDataStart, queryDataStart.Add(queryDataWindow)
	t1 := time.Now()
	for _, name := range chQueryNames {
		if !cfg.wantQuery(name) {
			continue
		}
		var q *benchQuery
		for i := range queries {
			if queries[i].Name == name {
				q = &queries[i]
			}
		}
		s := &queryStat{q: q, name: q.Name, title: q.Title, sql: sqls[name], times: map[string][]time.Duration{}, cpu: map[string][]time.Duration{}}
		hq, err := newHTTPQuery(ctx, node, queryDataset, q.Spec(start, end))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		specJSON, _ := json.Marshal(q.Spec(start, end))
		spec, err := query.ParseSpec(specJSON)
		if err != nil {
			return nil, err
		}
		var wOut, rOut string
		modes := []mode{
			{modeHTTP, func(int) error {
				out, err := hq.run(ctx, true, true)
				if err != nil {
					return fmt.Errorf("%s over HTTP on ClickHouse: %w", name, err)
				}
				s.rows = len(out.rows())
				b, _ := json.Marshal(out.rows())
				wOut = string(b)
				return nil
			}, serverCPU},
			{modeEngine, func(int) error {
				_, err := eng.Run(ctx, env, []string{queryDataset}, spec, query.Options{DisableSeries: true, DisableTotalByAggregate: true, DisableOtherByAggregate: true})
				return err
			}, engineCPU},
			{modeRaw, func(int) error {
				out, err := sqlc.query(ctx, s.sql)
				rOut = out
				return err
			}, ch.cpu},
		}
		if err := alternate(cfg, s, modes); err != nil {
			return nil, err
		}
		s.check = chCheck(wOut, rOut, s.rows)
		res.stats = append(res.stats, s)
		log.Printf("clickhouse %-32s http %8v  engine %8v  sql %8v", name, s.median(modeHTTP).Round(10*time.Microsecond), s.median(modeEngine).Round(10*time.Microsecond), s.median(modeRaw).Round(10*time.Microsecond))
	}
	if cfg.wantQuery(traceQuery) && len(traceIDs) > 0 {
		s := &queryStat{name: traceQuery, title: "all spans of one trace id (HTTP: `GET /api/v1/traces/{id}`; engine: `store.Trace`, which reads `trace_index` first)",
			sql: strings.Replace(sqls[traceQuery], "'%s'", "'<id>'", 1), times: map[string][]time.Duration{}, cpu: map[string][]time.Duration{}}
		var spans, rawRows int
		modes := []mode{
			{modeHTTP, func(i int) error {
				var out struct {
					Spans []json.RawMessage `json:"spans"`
				}
				code, body, err := node.do(ctx, "GET", "/api/v1/traces/"+traceIDs[i%len(traceIDs)], nil, &out)
				if err != nil || code != 200 {
					return fmt.Errorf("GET /api/v1/traces/{id} on ClickHouse: %d %v %.200s", code, err, body)
				}
				spans = len(out.Spans)
				return nil
			}, serverCPU},
			{modeEngine, func(i int) error {
				_, err := st.Trace(ctx, env, traceIDs[i%len(traceIDs)])
				return err
			}, engineCPU},
			{modeRaw, func(i int) error {
				out, err := sqlc.query(ctx, fmt.Sprintf(sqls[traceQuery], traceIDs[i%len(traceIDs)]))
				rawRows = strings.Count(out, "\n")
				return err
			}, ch.cpu},
		}
		if err := alternate(cfg, s, modes); err != nil {
			return nil, err
		}
		s.rows = spans
		s.check = "ok"
		if spans != rawRows {
			s.check = fmt.Sprintf("%d spans, SQL finds %d", spans, rawRows)
		}
		res.stats = append(res.stats, s)
	}
	if cfg.wantQuery(traceSearchQuery) {
		s := &queryStat{name: traceSearchQuery, title: fmt.Sprintf("trace search: `GET /api/v1/traces?service=%s&min_duration_ms=%d`", filterService, searchMinDurationMS),
			times: map[string][]time.Duration{}, cpu: map[string][]time.Duration{}}
		path := fmt.Sprintf("/api/v1/traces?service=%s&min_duration_ms=%d&start=%d&end=%d&limit=50", filterService, searchMinDurationMS, start.Unix(), end.Unix())
		modes := []mode{{modeHTTP, func(int) error {
			var out struct {
				Traces []json.RawMessage `json:"traces"`
			}
			code, body, err := node.do(ctx, "GET", path, nil, &out)
			if err != nil || code != 200 {
				return fmt.Errorf("GET %s on ClickHouse: %d %v %.200s", path, code, err, body)
			}
			s.rows = len(out.Traces)
			return nil
		}, serverCPU}}
		if err := alternate(cfg, s, modes); err != nil {
			return nil, err
		}
		res.stats = append(res.stats, s)
	}
	res.wall = time.Since(t1)
	res.serverHWM, _ = procStatusBytes(node.pid(), "VmHWM")
	if err := node.stop(); err != nil {
		return nil, err
	}
	return res, nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// chCheck compares waggle's result with the SQL's loosely: same number of
// rows, and for single-value results the same number.
func chCheck(wJSON, raw string, wRows int) string {
	lines := 0
	if t := strings.TrimSpace(raw); t != "" {
		lines = strings.Count(t, "\n") + 1
	}
	if lines != wRows {
		return fmt.Sprintf("%d rows, SQL %d", wRows, lines)
	}
	if lines == 1 && !strings.Contains(strings.TrimSpace(raw), "\t") {
		if !strings.Contains(wJSON, ":"+strings.TrimSpace(raw)+"}") && !strings.Contains(wJSON, ":"+strings.TrimSpace(raw)+",") {
			return fmt.Sprintf("waggle %s, SQL %s", wJSON, strings.TrimSpace(raw))
		}
	}
	return "ok"
}

// chSQL runs SQL over ClickHouse's HTTP interface.
type chSQL struct{ base string }

var chHTTP = &http.Client{Timeout: 10 * time.Minute}

func (c *chSQL) query(ctx context.Context, q string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base, strings.NewReader(q))
	if err != nil {
		return "", err
	}
	resp, err := chHTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("ClickHouse: %d %.300s (SQL: %.300s)", resp.StatusCode, b, q)
	}
	return string(b), nil
}
