package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	cfg      *config
	started  time.Time
	finished time.Time
	machine  machine
	commit   string
	ingest   []*ingestResult
	queries  *queryResults

	clickhouseVersion string
	chQueries         *chResults
}

type machine struct {
	cpus    int
	memory  string
	model   string
	kernel  string
	goVer   string
	loadAvg string
}

func describeMachine() machine {
	m := machine{cpus: runtime.NumCPU(), goVer: runtime.Version(), loadAvg: loadAvg(), model: "?", memory: "?", kernel: "?"}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := procMemTotal(); err == nil {
		m.memory = fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m.kernel = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("nproc").Output(); err == nil {
		m.cpus = atoiOr(strings.TrimSpace(string(out)), m.cpus)
	}
	return m
}

func atoiOr(s string, def int) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		return def
	}
	return n
}

func procMemTotal() (int64, error) {
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb); err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no MemTotal")
}

func gitDescribe(root string) string {
	cmd := exec.Command("git", "rev-parse", "--short", "HEAD")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		// Not a git checkout, e.g. a `git archive` export of one commit.
		if c := os.Getenv("BENCH_COMMIT"); c != "" {
			return c
		}
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	st := exec.Command("git", "status", "--porcelain", "--untracked-files=no")
	st.Dir = root
	if o, err := st.Output(); err == nil && len(strings.TrimSpace(string(o))) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}

func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.2f", f)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func encodingLabel(e string) string {
	if e == "none" {
		return "uncompressed"
	}
	return e
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**MISSED**"
}

// command is the command line reproducing part of this run.
func (r *report) command(extra ...string) string {
	return "go run ./cmd/waggle-bench " + strings.Join(extra, " ")
}

func (r *report) ingestCommand(in *ingestResult) string {
	c := in.Config
	amount := "-ingest-duration " + c.Duration.String()
	if c.Events > 0 {
		amount = fmt.Sprintf("-ingest-events %d", c.Events)
	}
	args := []string{"-only ingest", "-ingest-encodings " + c.Encoding}
	if c.Protocol == "otlp" {
		args = []string{"-only otlp", "-otlp-encodings " + c.Encoding}
	}
	if c.Store == "clickhouse" {
		args = append(args, fmt.Sprintf("-store clickhouse -clickhouse-nodes %d", c.Nodes))
	}
	return r.command(append(args, amount,
		fmt.Sprintf("-ingest-clients %d -ingest-batch %d -ingest-bodies %d", c.Clients, c.Batch, c.Bodies))...)
}

func (r *report) queryCommand(name string) string {
	args := []string{"-only queries", fmt.Sprintf("-events %d -rounds %d -runs %d -warmup %d", r.cfg.Events, r.cfg.Rounds, r.cfg.Runs, r.cfg.Warmup)}
	if r.cfg.Cache != defaultCache {
		args = append(args, "-cache "+r.cfg.Cache)
	}
	return r.command(append(args, "-queries "+name)...)
}

func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks\n\n")
	p("Written by `make bench` (`go run ./cmd/waggle-bench -out docs/BENCHMARKS.md`), which builds `waggle` afresh and runs `cmd/waggle-bench`")
	if len(r.cfg.Args) > 0 {
		p(", here with `%s`", strings.Join(r.cfg.Args, " "))
	}
	p("; do not edit by hand.\n")
	p("Performance targets live here, not in timed tests. A tiny-scale run of the same harness is a test (`cmd/waggle-bench`, part of `make test`), so it keeps working.\n\n")

	p("## Run\n\n")
	p("| | |\n|---|---|\n")
	p("| date | %s (%.1f min) |\n", r.started.Format("2006-01-02 15:04 UTC"), r.finished.Sub(r.started).Minutes())
	p("| commit | %s |\n", r.commit)
	p("| machine | %d CPUs (`nproc`), %s RAM, %s |\n", r.machine.cpus, r.machine.memory, r.machine.model)
	p("| system | %s, %s |\n", r.machine.kernel, r.machine.goVer)
	p("| load average at start | %s |\n", r.machine.loadAvg)
	p("\nThe machine is shared with other engineers' builds and tests, so absolute figures are noisy; the ratios against raw SQL, ")
	p("measured in the same run with waggle and SQL alternating, are the robust numbers. ")
	p("\"Busy CPUs of other processes\" below is the machine's average CPU use (from `/proc/stat`) minus that of waggle and this harness during the phase.\n\n")

	r.summary(&b)
	r.reading(&b)
	if len(r.ingest) > 0 {
		r.ingestSection(&b)
	}
	if r.queries != nil {
		r.querySection(&b)
	}
	if r.chQueries != nil {
		r.chQuerySection(&b)
	}
	return b.String()
}

func (r *report) summary(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Targets\n\n| target | measured | |\n|---|---|---|\n")
	for _, in := range r.ingest {
		c := &in.Config
		route, target := "`/1/batch`", 200000.0
		if c.Protocol == "otlp" {
			route, target = "OTLP/HTTP `/v1/traces`", 150000
		}
		p("| ingest through %s (%s), durable: ≥ %s %s/s | %s %s/s | %s |\n",
			route, c.label(), thousands(int64(target)), c.unit(), thousands(int64(in.rate())), c.unit(), met(in.rate() >= target))
		p("| ingest (%s): server peak RSS ≤ 1 GiB | %s | %s |\n", c.label(), mib(in.PeakRSS), met(in.PeakRSS <= 1<<30))
		p("| ingest (%s): %s stored = %s acknowledged | %s = %s | %s |\n", c.label(), c.unit(), c.unit(),
			thousands(in.Stored), thousands(in.AckedTotal), met(in.Stored == in.AckedTotal))
	}
	if q := r.queries; q != nil {
		for _, s := range q.stats {
			if s.q != nil && s.q.TargetMS > 0 {
				d := s.median(modeHTTP)
				c := median(s.cpu[modeHTTP])
				p("| %s: ≤ %.0f ms warm (HTTP, %s events) | %s ms; server CPU %s ms, so %s–%s ms on an idle machine | %s |\n", s.name, s.q.TargetMS, thousands(q.m.Events), ms(d),
					ms(c), ms(c/time.Duration(r.machine.cpus)), ms(c), met(float64(d) <= s.q.TargetMS*float64(time.Millisecond)))
			}
			if s.q != nil && s.q.TargetRatio > 0 && s.median(modeRaw) > 0 {
				ratio := float64(s.median(modeHTTP)) / float64(s.median(modeRaw))
				p("| %s: ≤ %.1f× raw SQL (HTTP ÷ SQL, wall time) | %.2f× | %s |\n", s.name, s.q.TargetRatio, ratio, met(ratio <= s.q.TargetRatio))
				if c := median(s.cpu[modeRaw]); c > 0 {
					cr := float64(median(s.cpu[modeHTTP])) / float64(c)
					p("| %s: same, in CPU time (waggle server ÷ SQL; less sensitive to the noise) | %.2f× | %s |\n", s.name, cr, met(cr <= s.q.TargetRatio))
				}
			}
			if s.name == traceQuery {
				d := s.median(modeHTTP)
				c := median(s.cpu[modeHTTP])
				p("| trace by id (`GET /api/v1/traces/{id}`, %s events): ≤ 20 ms | %s ms; server CPU %s ms, so %s–%s ms on an idle machine | %s |\n", thousands(q.m.Events), ms(d), ms(c),
					ms(c/time.Duration(r.machine.cpus)), ms(c), met(d <= 20*time.Millisecond))
			}
			if s.check != "" && s.check != "ok" {
				p("| %s: waggle's result equals the SQL's | %s | **MISSED** |\n", s.name, s.check)
			}
		}
	}
	p("\n")
}

// reading explains the figures that need it, computed from this run.
func (r *report) reading(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("Reading these figures:\n\n")
	for _, in := range r.ingest {
		if in.ServerCPU == 0 || in.Acked == 0 {
			continue
		}
		c := &in.Config
		unit := strings.TrimSuffix(c.unit(), "s")
		target := 200000.0
		if c.Protocol == "otlp" {
			target = 150000
		}
		cpu := in.ServerCPU + in.StoreCPU
		perEvent := float64(cpu) / float64(in.Acked) / float64(time.Microsecond)
		ceiling := float64(r.machine.cpus) * float64(in.Acked) / cpu.Seconds()
		who := "the server"
		if in.StoreCPU > 0 {
			who = "waggle and ClickHouse together"
		}
		p("- Ingest (%s): %s spent %.1f µs of CPU per %s, so even with all %d CPUs to itself it could not exceed about %s %s/s; ",
			c.label(), who, perEvent, unit, r.machine.cpus, thousands(int64(ceiling)), c.unit())
		p("%s %s/s on %d CPUs needs at most %.1f µs per %s. It used %.2f CPUs on average while other processes kept %.2f busy.\n",
			thousands(int64(target)), c.unit(), r.machine.cpus, float64(r.machine.cpus)*1e6/target, unit, cpu.Seconds()/in.Wall.Seconds(),
			max(0, in.MachineBusy-(cpu+in.ClientCPU).Seconds()/in.Wall.Seconds()))
	}
	if q := r.queries; q != nil {
		p("- Queries: other processes kept %.2f of %d CPUs busy on average, so wall times are stretched by waiting for a CPU; the CPU-time column is the steadier measure. ",
			q.busyOthers, r.machine.cpus)
		p("On an idle machine a query would take between its CPU time ÷ %d (perfectly parallel) and its CPU time (one thread).\n", r.machine.cpus)
		var plain, defaults *queryStat
		for _, s := range q.stats {
			switch s.name {
			case "count_p95_by_name":
				plain = s
			case "count_p95_by_name_defaults":
				defaults = s
			}
		}
		if plain != nil && defaults != nil && median(plain.cpu[modeHTTP]) > 0 {
			p("- Asking for Honeycomb's default result options (time series, `total_by_aggregate`, `other_by_aggregate`) makes COUNT + P95 GROUP BY name cost %.1f× the CPU of the plain query: the totals are one more pass computing the percentile over all events, and the series one more grouped by time.\n",
				float64(median(defaults.cpu[modeHTTP]))/float64(median(plain.cpu[modeHTTP])))
		}
	}
	p("\n")
}

func (r *report) ingestSection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Ingest\n\n")
	in0 := r.ingest[0].Config
	p("`waggle serve` (default settings: `WAGGLE_MEMORY_LIMIT` 1 GiB) on a fresh data directory. Before it starts, the harness generates %s distinct events ",
		thousands(int64(in0.Bodies*in0.Batch)))
	p("(about 30 fields: 26 always present, among them 32-hex trace ids and 100k user ids; 5 services, 40 span names with zipf skew, 2%% status 500, ")
	p("lognormal `duration_ms`; 10 sparse string and 10 sparse numeric attributes each in 10%% of events) and encodes them as %d `/1/batch` bodies of %s events. ",
		in0.Bodies, thousands(int64(in0.Batch)))
	p("%d concurrent HTTP clients in the harness process replay these bodies round-robin (one warm-up request first creates the dataset); each request is answered only once its events are durable (WAL fsynced). ", in0.Clients)
	p("Events/s counts the `{\"status\":202}` answers over the timed window. Server CPU is utime+stime of the waggle process from `/proc/<pid>/stat` over the window, divided by the events acknowledged in it; ")
	p("peak RSS is the server's `VmHWM` at the end. Afterwards a COUNT through the query API must equal every event acknowledged. The client shares the 2 CPUs with the server; its own CPU per event is shown too.\n\n")
	p("OTLP columns: the same generated spans, encoded with pdata as OTLP/HTTP protobuf `ExportTraceServiceRequest` bodies (one `ResourceSpans` per service with 5 resource attributes, 15 span attributes, 16-byte trace ids, 8-byte span and parent ids, kind and status), POSTed to `/v1/traces` as `application/x-protobuf`; ")
	p("the answer (sent once the spans are durable) must report no rejected spans, and the spans stored are counted per dataset (one per service, 5) afterwards. ")
	p("ClickHouse columns: waggle with `WAGGLE_STORE=clickhouse://…` (a fresh database on a throwaway server (%s) started by the harness with `chtest`); with 2 nodes, both share that ClickHouse and a PostgreSQL metadata database (`pgtest`), the clients alternate between them, server CPU and figures sum both nodes (peak RSS is the larger), and the count is read through the other node. The ClickHouse server's own CPU is shown separately.\n\n", r.clickhouseVersion)
	p("| | ")
	for _, in := range r.ingest {
		p("%s | ", in.Config.label())
	}
	p("\n|---|")
	for range r.ingest {
		p("---|")
	}
	p("\n")
	row := func(label string, f func(*ingestResult) string) {
		p("| %s | ", label)
		for _, in := range r.ingest {
			p("%s | ", f(in))
		}
		p("\n")
	}
	row("**events (spans)/s acknowledged**", func(in *ingestResult) string { return "**" + thousands(int64(in.rate())) + "**" })
	row("**server CPU per event (span)**", func(in *ingestResult) string {
		return fmt.Sprintf("**%.2f µs**", float64(in.cpuPerEvent())/float64(time.Microsecond))
	})
	row("ClickHouse server CPU per event (span)", func(in *ingestResult) string {
		if in.Config.Store != "clickhouse" {
			return "—"
		}
		if in.StoreCPU == 0 {
			return "not measured"
		}
		return fmt.Sprintf("%.2f µs", float64(in.StoreCPU)/float64(max(in.Acked, 1))/float64(time.Microsecond))
	})
	row("server CPU use", func(in *ingestResult) string {
		return fmt.Sprintf("%.2f CPUs", in.ServerCPU.Seconds()/in.Wall.Seconds())
	})
	row("events/s per server CPU-second", func(in *ingestResult) string {
		if in.ServerCPU == 0 {
			return "?"
		}
		return thousands(int64(float64(in.Acked) / in.ServerCPU.Seconds()))
	})
	row(fmt.Sprintf("CPU-bound ceiling on %d CPUs (nproc ÷ CPU per event)", r.machine.cpus), func(in *ingestResult) string {
		if in.ServerCPU == 0 {
			return "?"
		}
		return thousands(int64(float64(r.machine.cpus) * float64(in.Acked) / in.ServerCPU.Seconds()))
	})
	row("client CPU per event (harness)", func(in *ingestResult) string {
		return fmt.Sprintf("%.2f µs", float64(in.ClientCPU)/float64(time.Microsecond)/float64(max(in.Acked, 1)))
	})
	row("**server peak RSS (VmHWM)**", func(in *ingestResult) string { return "**" + mib(in.PeakRSS) + "**" })
	row("server RSS at the end", func(in *ingestResult) string { return mib(in.RSS) })
	row("events acknowledged (timed window)", func(in *ingestResult) string { return thousands(in.Acked) })
	row("window", func(in *ingestResult) string { return in.Wall.Round(time.Millisecond).String() })
	row("stored (COUNT) = acknowledged (with warm-up)", func(in *ingestResult) string {
		eq := "yes"
		if in.Stored != in.AckedTotal {
			eq = "**NO**"
		}
		return fmt.Sprintf("%s: %s / %s", eq, thousands(in.Stored), thousands(in.AckedTotal))
	})
	row("requests (429 answers, retried)", func(in *ingestResult) string {
		return fmt.Sprintf("%s (%s)", thousands(in.Requests), thousands(in.Throttled))
	})
	row("body size (JSON or protobuf → sent)", func(in *ingestResult) string {
		return fmt.Sprintf("%.0f KiB → %.0f KiB", in.RawBodyBytes/1024, in.BodyBytes/1024)
	})
	row("disk per event (data directories; ClickHouse's own not counted)", func(in *ingestResult) string {
		return fmt.Sprintf("%.1f B", float64(in.DiskBytes)/float64(max(in.AckedTotal, 1)))
	})
	row("graceful shutdown", func(in *ingestResult) string { return in.ShutdownWall.Round(time.Millisecond).String() })
	row("busy CPUs of other processes", func(in *ingestResult) string {
		ours := (in.ServerCPU + in.ClientCPU).Seconds() / in.Wall.Seconds()
		return fmt.Sprintf("%.2f", max(0, in.MachineBusy-ours))
	})
	row("load average before → after", func(in *ingestResult) string { return in.LoadAvgBefore + " → " + in.LoadAvgAfter })
	p("\nReproduce:\n\n")
	for _, in := range r.ingest {
		p("    %s\n", r.ingestCommand(in))
	}
	p("\n")
}

func (r *report) querySection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	q := r.queries
	m := q.m
	p("## Queries over %s events\n\n", thousands(m.Events))
	p("One dataset of %s events over two hours (%s to %s), same generator as above (about %s traces of 1–19 spans, interleaved). ",
		thousands(m.Events), m.Start.Format("2006-01-02 15:04"), m.Start.Add(m.Window).Format("15:04 UTC"), thousands(m.Events/10))
	p("It was written through the store's own `Write` in batches of 50,000 (as group commits deliver them under load) ")
	if q.generated {
		p("in this run: %s events/s, ", thousands(int64(m.loadRate())))
	} else {
		p("on %s (cached under `%s/`, keyed by generator version and size): %s events/s, ", m.Created.Format("2006-01-02"), r.cfg.Cache, thousands(int64(m.loadRate())))
	}
	p("%.1f bytes/event on disk.\n\n", float64(m.DiskBytes)/float64(m.Events))
	p("Each query is measured three ways, with %d warm-up and %d timed runs each (×%d rounds), interleaved run by run (the first mode rotating) so that the machine's noise hits all three alike:\n\n", r.cfg.Warmup, r.cfg.Runs, r.cfg.Rounds)
	p("- **HTTP**: the running `waggle serve` binary's Honeycomb query API, as a client sees it: `POST /1/query_results` (which returns when the result is complete) plus `GET` of the result. ")
	p("The spec asks for what the SQL computes: `disable_series` unless the query is a time series, `disable_total_by_aggregate` and `disable_other_by_aggregate` (one row shows the cost of Honeycomb's defaults). The headline figure.\n")
	p("- **engine**: `query.Engine.Run` over `duckdb.Open` of the data directory, in the harness process (no HTTP or JSON); trace lookup calls `store.Trace` (HTTP: `GET /api/v1/traces/{id}`), and the trace search has no engine mode.\n")
	p("- **SQL**: the hand-written SQL below on the same DuckDB files, opened read-only (`ATTACH … (READ_ONLY)`) in a plain in-memory DuckDB (same duckdb-go, same `memory_limit` of %s and %d threads as waggle's store), with physical table and column names read from `catalog.duckdb`. ",
		mib(storeMemoryLimit), r.machine.cpus)
	p("This is the baseline: the ratio is what waggle's query path adds.\n\n")
	p("DuckDB locks a database file that a process opened for writing, so each mode gets its own byte-identical copy of the cached data directory; that is what lets the three stay open at once and alternate.\n\n")
	p("Times are medians in milliseconds (min–max in brackets). Ratio = waggle ÷ SQL. ")
	p("CPU time is the median per run of the process doing the work (the waggle server's threads from `/proc/<pid>/task/*/schedstat` for HTTP, this process's `getrusage` for engine and SQL); ")
	p("it is less inflated by other processes' load than wall time is, and on an idle machine a query cannot finish faster than its CPU time ÷ %d CPUs.\n\n", r.machine.cpus)
	p("| query | HTTP | engine | SQL | HTTP ÷ SQL | engine ÷ SQL | CPU time: waggle server (HTTP) / engine / SQL | CPU HTTP ÷ SQL | result rows | same result as SQL |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range q.stats {
		cell := func(mode string) string {
			if len(s.times[mode]) == 0 {
				return "—"
			}
			lo, hi := minMax(s.times[mode])
			return fmt.Sprintf("**%s** (%s–%s)", ms(s.median(mode)), ms(lo), ms(hi))
		}
		ratio := func(mode string) string {
			if len(s.times[mode]) == 0 || len(s.times[modeRaw]) == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f×", float64(s.median(mode))/float64(s.median(modeRaw)))
		}
		check := s.check
		switch check {
		case "":
			check = "not compared"
		case "ok":
			check = "yes"
		default:
			check = "**NO**: " + check
		}
		cpu := func(mode string) string {
			if len(s.cpu[mode]) == 0 {
				return "—"
			}
			return ms(median(s.cpu[mode]))
		}
		cpuRatio := "—"
		if len(s.cpu[modeHTTP]) > 0 && len(s.cpu[modeRaw]) > 0 && median(s.cpu[modeRaw]) > 0 {
			cpuRatio = fmt.Sprintf("%.2f×", float64(median(s.cpu[modeHTTP]))/float64(median(s.cpu[modeRaw])))
		}
		p("| `%s`: %s | %s | %s | %s | %s | %s | %s / %s / %s | %s | %d | %s |\n", s.name, s.title, cell(modeHTTP), cell(modeEngine), cell(modeRaw),
			ratio(modeHTTP), ratio(modeEngine), cpu(modeHTTP), cpu(modeEngine), cpu(modeRaw), cpuRatio, s.rows, check)
	}
	p("\nServer peak RSS over the HTTP runs: %s. Phase took %s; busy CPUs of other processes: %.2f on average; load average %s → %s.\n\n",
		mib(q.serverHWM), q.wall.Round(time.Second), q.busyOthers, q.loadBefore, q.loadAfter)
	p("The SQL baseline, per query (table `%s`; the trace id is a bound parameter, one of %d ids spread over the data):\n\n", "pYYYYMMDD.e<dataset id>", len(m.TraceIDs))
	for _, s := range q.stats {
		if s.sql == "" {
			continue
		}
		p("- `%s`: `%s`\n", s.name, s.sql)
	}
	p("\nNotes: waggle's time series and heatmap queries also compute the groups over the whole range (the table Honeycomb shows beside the graph), which the SQL leaves out; ")
	p("waggle always filters on the query's time range, which covers all the data here, and the SQL does not. The trace lookup's SQL is a full scan, as a person without waggle's trace index would write it.\n\n")
	p("Reproduce a row (the first run generates and caches the data):\n\n")
	for _, s := range q.stats {
		p("    %s\n", r.queryCommand(s.name))
	}
	p("\n")
}

func (r *report) chQuerySection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	q := r.chQueries
	p("## Queries on ClickHouse over %s events\n\n", thousands(q.events))
	p("The same generator and two hours, written by the harness through the ClickHouse store's own `Write` (batches of 50,000, `trace_index` included) into a fresh database of a throwaway server (%s) started by the harness (chtest: `max_threads` 2, no other load on it): ", r.clickhouseVersion)
	p("%s events/s (%v; waggle's write path and ClickHouse together used %s of CPU, %.1f µs/event); events table after `OPTIMIZE … FINAL`: %.1f bytes/event on disk.\n\n",
		thousands(int64(float64(q.events)/q.loadWall.Seconds())), q.loadWall.Round(time.Millisecond), q.loadCPU.Round(time.Millisecond),
		float64(q.loadCPU)/float64(q.events)/float64(time.Microsecond), float64(q.chBytes)/float64(q.events))
	if r.queries != nil && q.events < r.queries.m.Events {
		p("This data set is smaller than DuckDB's (%s events): loading %s events through waggle's ClickHouse write path at the rate above would take longer than the run had, so the ClickHouse and DuckDB figures are not like for like; compare each with its own SQL baseline.\n\n",
			thousands(r.queries.m.Events), thousands(r.queries.m.Events))
	}
	p("Modes as above: **HTTP** through `waggle serve` with `WAGGLE_STORE=clickhouse://…`; **engine** is `query.Engine` over `clickhouse.Open` in the harness; **SQL** is the hand-written ClickHouse SQL below over its HTTP interface . ")
	p("CPU time counts waggle's (server threads for HTTP, the harness for the engine) plus the ClickHouse server's, from `/proc/<pid>/stat` in 10 ms clock ticks, so it is coarse for the short queries; SQL's is ClickHouse's alone. %d warm-up and %d timed runs, interleaved.\n\n", r.cfg.Warmup, r.cfg.Runs)
	p("| query | HTTP | engine | SQL (ClickHouse) | HTTP ÷ SQL | CPU, waggle + ClickHouse: HTTP / engine / SQL | result rows | same row count as SQL |\n|---|---|---|---|---|---|---|---|\n")
	for _, s := range q.stats {
		cell := func(mode string) string {
			if len(s.times[mode]) == 0 {
				return "—"
			}
			lo, hi := minMax(s.times[mode])
			return fmt.Sprintf("**%s** (%s–%s)", ms(s.median(mode)), ms(lo), ms(hi))
		}
		cpu := func(mode string) string {
			if len(s.cpu[mode]) == 0 {
				return "—"
			}
			return ms(median(s.cpu[mode]))
		}
		ratio := "—"
		if len(s.times[modeRaw]) > 0 && s.median(modeRaw) > 0 {
			ratio = fmt.Sprintf("%.2f×", float64(s.median(modeHTTP))/float64(s.median(modeRaw)))
		}
		check := s.check
		switch check {
		case "":
			check = "not compared"
		case "ok":
			check = "yes"
		default:
			check = "**NO**: " + check
		}
		p("| `%s`: %s | %s | %s | %s | %s | %s / %s / %s | %d | %s |\n", s.name, s.title, cell(modeHTTP), cell(modeEngine), cell(modeRaw), ratio,
			cpu(modeHTTP), cpu(modeEngine), cpu(modeRaw), s.rows, check)
	}
	p("\nServer peak RSS: %s. Phase took %s.\n\n", mib(q.serverHWM), q.wall.Round(time.Second))
	p("The ClickHouse SQL (`events` is waggle's shared table; hot fields are typed columns, the others slots of per-type key/value arrays keyed by column id, read from waggle's `columns` table):\n\n")
	for _, s := range q.stats {
		if s.sql != "" {
			p("- `%s`: `%s`\n", s.name, s.sql)
		}
	}
	p("\nReproduce:\n\n    %s\n\n", r.command("-only queries -store clickhouse", fmt.Sprintf("-clickhouse-events %d -runs %d -warmup %d", q.events, r.cfg.Runs, r.cfg.Warmup)))
}
