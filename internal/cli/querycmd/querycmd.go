// Package querycmd implements "waggle query": it runs a Honeycomb query
// spec against a running waggle server through the Honeycomb query API
// (POST /1/queries, POST and GET /1/query_results) and prints the results as
// an aligned table or as JSON.
//
//	waggle query --dataset api --calc COUNT --calc 'P95(duration_ms)' \
//	    --breakdown endpoint --where 'status >= 500' --time-range 2h
//	waggle query --spec spec.json --dataset api --json
package querycmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/query"
)

// DefaultServer is the server queried when neither --server nor
// WAGGLE_SERVER says otherwise.
const DefaultServer = "http://127.0.0.1:8080"

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// options are the parsed command line.
type options struct {
	specFile    string
	dataset     string
	calcs       listFlag
	breakdowns  listFlag
	wheres      listFlag
	or          bool
	orders      listFlag
	havings     listFlag
	limit       int
	timeRange   string
	start, end  string
	granularity string
	usageMode   bool
	server      string
	key         string
	json        bool
	series      bool
	timeout     time.Duration
}

// Run runs "waggle query" with args (without the command name). It returns
// flag.ErrHelp after printing usage for -h.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("waggle query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.specFile, "spec", "", "read the query spec (Honeycomb JSON) from `file`; other flags add to it")
	fs.StringVar(&o.dataset, "dataset", "", "dataset to query (default every dataset: __all__)")
	fs.Var(&o.calcs, "calc", "calculation such as COUNT or P95(duration_ms) (repeatable)")
	fs.Var(&o.breakdowns, "breakdown", "column to group by (repeatable)")
	fs.Var(&o.wheres, "where", "filter such as 'status >= 500', 'user exists', 'endpoint in /a,/b' (repeatable)")
	fs.BoolVar(&o.or, "any", false, "combine filters with OR instead of AND")
	fs.Var(&o.orders, "order", "order such as 'COUNT desc', 'P95(duration_ms)', 'endpoint asc' (repeatable)")
	fs.Var(&o.havings, "having", "group filter such as 'COUNT > 10' (repeatable)")
	fs.IntVar(&o.limit, "limit", 0, "most groups or events to return (up to 1000, or 10000 without series)")
	fs.StringVar(&o.timeRange, "time-range", "", "range such as 2h, 7d or 3600 (default 2h)")
	fs.StringVar(&o.start, "start", "", "start time: Unix seconds or RFC 3339")
	fs.StringVar(&o.end, "end", "", "end time: Unix seconds or RFC 3339")
	fs.StringVar(&o.granularity, "granularity", "", "series bucket width such as 60s or 5m")
	fs.BoolVar(&o.usageMode, "usage-mode", false, "do not correct aggregates for sample rates")
	fs.StringVar(&o.server, "server", envOr("WAGGLE_SERVER", DefaultServer), "waggle server URL (env WAGGLE_SERVER)")
	fs.StringVar(&o.key, "key", os.Getenv("WAGGLE_API_KEY"), "API key (env WAGGLE_API_KEY)")
	fs.BoolVar(&o.json, "json", false, "print the query result object as JSON")
	fs.BoolVar(&o.series, "series", false, "with --json, include the time series")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: waggle query [flags]\n\nRuns a query against a waggle server and prints the results.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see waggle query -h)", fs.Arg(0))
	}
	spec, err := o.buildSpec()
	if err != nil {
		return err
	}
	// Check the spec here too, for errors without a round trip; the server
	// checks it against the dataset's columns.
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("query spec: %w", err)
	}
	body, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode query spec: %w", err)
	}
	dataset := o.dataset
	if dataset == "" {
		dataset = "__all__"
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	c := &client{server: o.server, key: o.key, http: &http.Client{}, poll: 200 * time.Millisecond}
	req := resultRequest{DisableSeries: !(o.json && o.series), Limit: o.limit}
	if !o.json {
		req.DisableTotalByAggregate, req.DisableOtherByAggregate = true, true
	}
	raw, err := c.run(ctx, dataset, body, req)
	if err != nil {
		return err
	}
	if o.json {
		var pretty any
		if err := json.Unmarshal(raw, &pretty); err != nil {
			return fmt.Errorf("decode result: %w", err)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(pretty)
	}
	var res resultResponse
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("decode result: %w", err)
	}
	return printTable(stdout, res.Data, spec.Breakdowns, spec.Labels(), spec.Raw())
}

// envOr returns the environment variable or def.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// buildSpec reads --spec and applies the other flags to it.
func (o *options) buildSpec() (*query.Spec, error) {
	spec := &query.Spec{}
	if o.specFile != "" {
		data, err := os.ReadFile(o.specFile)
		if err != nil {
			return nil, fmt.Errorf("read spec: %w", err)
		}
		if spec, err = query.ParseSpec(data); err != nil {
			return nil, fmt.Errorf("spec %s: %w", o.specFile, err)
		}
	}
	for _, s := range o.calcs {
		c, err := parseCalc(s)
		if err != nil {
			return nil, err
		}
		spec.Calculations = append(spec.Calculations, c)
	}
	spec.Breakdowns = append(spec.Breakdowns, o.breakdowns...)
	for _, s := range o.wheres {
		f, err := parseWhere(s)
		if err != nil {
			return nil, err
		}
		spec.Filters = append(spec.Filters, f)
	}
	if o.or {
		spec.FilterCombination = "OR"
	}
	for _, s := range o.orders {
		ord, err := parseOrder(s)
		if err != nil {
			return nil, err
		}
		spec.Orders = append(spec.Orders, ord)
	}
	for _, s := range o.havings {
		h, err := parseHaving(s)
		if err != nil {
			return nil, err
		}
		spec.Havings = append(spec.Havings, h)
	}
	if o.limit > query.MaxLimit {
		// Larger limits are run options, allowed without the series.
		if o.json && o.series {
			return nil, errors.New("--limit above 1000 needs the series disabled (drop --series)")
		}
	} else if o.limit > 0 {
		limit := o.limit
		spec.Limit = &limit
		o.limit = 0
	}
	if o.usageMode {
		spec.UsageMode = true
	}
	var err error
	if spec.TimeRange, err = secondsFlag("time-range", o.timeRange, spec.TimeRange); err != nil {
		return nil, err
	}
	if spec.Granularity, err = secondsFlag("granularity", o.granularity, spec.Granularity); err != nil {
		return nil, err
	}
	for _, t := range []struct {
		name, value string
		dst         **int64
	}{{"start", o.start, &spec.StartTime}, {"end", o.end, &spec.EndTime}} {
		if t.value == "" {
			continue
		}
		v, err := parseTime(t.name, t.value)
		if err != nil {
			return nil, err
		}
		*t.dst = &v
	}
	return spec, nil
}

// secondsFlag parses a seconds flag if set, else keeps old.
func secondsFlag(name, value string, old *int64) (*int64, error) {
	if value == "" {
		return old, nil
	}
	v, err := parseSeconds(name, value)
	if err != nil {
		return nil, err
	}
	return &v, nil
}
