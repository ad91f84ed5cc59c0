package traceapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// Search limits.
const (
	defaultSearchLimit = 50
	maxSearchLimit     = 1000
	defaultTimeRange   = 2 * time.Hour
	// traceTail is how long after the window's end spans of a found trace
	// are still counted.
	traceTail = time.Hour
	// traceLead is how long before the window's start they are.
	traceLead = 10 * time.Minute
)

// Summary is one trace of a search.
type Summary struct {
	TraceID     string    `json:"trace_id"`
	RootService string    `json:"root_service"`
	RootName    string    `json:"root_name"`
	RootDataset string    `json:"root_dataset"`
	Start       time.Time `json:"start"`
	DurationMs  float64   `json:"duration_ms"`
	SpanCount   int64     `json:"span_count"`
	ErrorCount  int64     `json:"error_count"`
	Services    []string  `json:"services"`
}

// SearchResult is the answer of GET /api/v1/traces.
type SearchResult struct {
	Start  time.Time  `json:"start"`
	End    time.Time  `json:"end"`
	Traces []*Summary `json:"traces"`
}

// badRequest is a client error of a search.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// searchParams are a search's parsed parameters.
type searchParams struct {
	start, end time.Time
	service    string
	name       string
	minDur     *float64
	maxDur     *float64
	errFilter  *bool
	where      []query.SpecFilter
	limit      int
}

func (a *API) handleSearch(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r)
	if p == nil {
		return
	}
	sp, err := parseSearch(r.URL.Query(), a.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := a.Search(r.Context(), p.Env.ID, sp)
	if err != nil {
		var qe *query.Error
		var br *badRequest
		switch {
		case errors.As(err, &qe):
			writeError(w, http.StatusBadRequest, qe.Error())
		case errors.As(err, &br):
			writeError(w, http.StatusBadRequest, br.Error())
		default:
			a.log().Error("traceapi: search", "err", err)
			writeError(w, http.StatusServiceUnavailable, "could not search traces; retry later")
		}
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(n)
		return time.Unix(sec, int64((n-float64(sec))*1e9)).UTC(), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func parseSearch(q url.Values, now time.Time) (*searchParams, error) {
	sp := &searchParams{limit: defaultSearchLimit}
	rng := defaultTimeRange
	if s := q.Get("time_range"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return nil, badf("time_range must be a positive number of seconds")
		}
		rng = time.Duration(n) * time.Second
	}
	var err error
	if s := q.Get("start"); s != "" {
		if sp.start, err = parseTime(s); err != nil {
			return nil, badf("start must be RFC 3339 or Unix seconds")
		}
	}
	if s := q.Get("end"); s != "" {
		if sp.end, err = parseTime(s); err != nil {
			return nil, badf("end must be RFC 3339 or Unix seconds")
		}
	}
	switch {
	case sp.start.IsZero() && sp.end.IsZero():
		sp.end = now
		sp.start = now.Add(-rng)
	case sp.start.IsZero():
		sp.start = sp.end.Add(-rng)
	case sp.end.IsZero():
		sp.end = sp.start.Add(rng)
	}
	if !sp.start.Before(sp.end) {
		return nil, badf("start must be before end")
	}
	sp.service = q.Get("service")
	sp.name = q.Get("name")
	for _, d := range []struct {
		key string
		dst **float64
	}{{"min_duration_ms", &sp.minDur}, {"max_duration_ms", &sp.maxDur}} {
		if s := q.Get(d.key); s != "" {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, badf("%s must be a number", d.key)
			}
			*d.dst = &f
		}
	}
	if s := q.Get("error"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, badf("error must be true or false")
		}
		sp.errFilter = &b
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxSearchLimit {
			return nil, badf("limit must be between 1 and %d", maxSearchLimit)
		}
		sp.limit = n
	}
	for _, w := range q["where"] {
		f, err := ParseWhere(w)
		if err != nil {
			return nil, err
		}
		sp.where = append(sp.where, f)
	}
	return sp, nil
}

// filterOps are the query spec's operators, longest first so that ">="
// is not read as ">".
var filterOps = []string{
	"does-not-start-with", "does-not-end-with", "does-not-contain", "does-not-exist",
	"starts-with", "ends-with", "contains", "exists", "not-in", "in",
	"!=", ">=", "<=", "=", ">", "<",
}

// ParseWhere parses "column op value" into a query spec filter. The column
// is the text before the first space (or before a symbolic operator written
// without spaces, "duration_ms>=100"); the value is the rest, unquoted;
// in/not-in take comma-separated values.
func ParseWhere(s string) (query.SpecFilter, error) {
	s = strings.TrimSpace(s)
	var col, op, rest string
	// Symbolic operators may be written without spaces.
	if i := strings.IndexAny(s, "=!<>"); i > 0 && !strings.Contains(s[:i], " ") {
		col = s[:i]
		for _, o := range []string{"!=", ">=", "<=", "=", ">", "<"} {
			if strings.HasPrefix(s[i:], o) {
				op, rest = o, s[i+len(o):]
				break
			}
		}
	} else {
		c, r, ok := strings.Cut(s, " ")
		if !ok && !strings.HasSuffix(s, "exists") {
			return query.SpecFilter{}, badf("where %q: want \"column op value\"", s)
		}
		col = c
		r = strings.TrimSpace(r)
		for _, o := range filterOps {
			if r == o || strings.HasPrefix(r, o+" ") {
				op, rest = o, r[len(o):]
				break
			}
		}
	}
	if col == "" || op == "" {
		return query.SpecFilter{}, badf("where %q: want \"column op value\" with a query operator", s)
	}
	f := query.SpecFilter{Column: col, Op: op}
	rest = strings.TrimSpace(rest)
	switch op {
	case "exists", "does-not-exist":
		if rest != "" {
			return query.SpecFilter{}, badf("where %q: %s takes no value", s, op)
		}
		return f, nil
	case "in", "not-in":
		var vals []string
		for _, v := range strings.Split(rest, ",") {
			vals = append(vals, unquote(strings.TrimSpace(v)))
		}
		f.Value, _ = json.Marshal(vals)
		return f, nil
	}
	if rest == "" {
		return query.SpecFilter{}, badf("where %q: %s needs a value", s, op)
	}
	f.Value, _ = json.Marshal(unquote(rest))
	return f, nil
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

func filter(col, op string, v any) query.SpecFilter {
	f := query.SpecFilter{Column: col, Op: op}
	if v != nil {
		f.Value, _ = json.Marshal(v)
	}
	return f
}

func unix(t time.Time) *int64 {
	s := t.Unix()
	return &s
}

// Search finds root spans in the window that match sp and summarises their
// traces. It runs three kinds of query-engine queries: (with error=true)
// the trace ids with error spans, the root spans (a raw query), and span
// and error counts per trace and service (aggregate queries).
func (a *API) Search(ctx context.Context, env event.EnvID, sp *searchParams) (*SearchResult, error) {
	res := &SearchResult{Start: sp.start.UTC(), End: sp.end.UTC(), Traces: []*Summary{}}
	cols, err := a.Catalog.Columns(ctx, env, nil)
	if err != nil {
		return nil, err
	}
	has := func(c string) bool { _, ok := cols[c]; return ok }
	// Without these columns no dataset holds a span, so nothing matches.
	for _, c := range []string{fTraceID, fSpanID} {
		if !has(c) {
			return res, nil
		}
	}
	spans := []query.SpecFilter{filter(fSpanID, "exists", nil)}
	if has(fAnnotation) {
		spans = append(spans, filter(fAnnotation, "does-not-exist", nil))
	}
	roots := append([]query.SpecFilter(nil), spans...)
	if has(fParentID) {
		roots = append(roots, filter(fParentID, "does-not-exist", nil))
	}
	for _, eq := range []struct{ col, val string }{{fService, sp.service}, {fName, sp.name}} {
		if eq.val == "" {
			continue
		}
		if !has(eq.col) {
			return res, nil
		}
		roots = append(roots, filter(eq.col, "=", eq.val))
	}
	if sp.minDur != nil || sp.maxDur != nil {
		if !has(fDuration) {
			return res, nil
		}
		if sp.minDur != nil {
			roots = append(roots, filter(fDuration, ">=", *sp.minDur))
		}
		if sp.maxDur != nil {
			roots = append(roots, filter(fDuration, "<=", *sp.maxDur))
		}
	}
	roots = append(roots, sp.where...)

	tailEnd := sp.end.Add(traceTail)
	leadStart := sp.start.Add(-traceLead)
	if sp.errFilter != nil && *sp.errFilter {
		if !has(fError) {
			return res, nil
		}
		// Trace ids with an error span, anywhere around the window.
		ids, err := a.groupCounts(ctx, env, append(append([]query.SpecFilter(nil), spans...), filter(fError, "=", true)),
			[]string{fTraceID}, leadStart, tailEnd, query.MaxLimitNoSeries)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return res, nil
		}
		var list []string
		for _, g := range ids {
			list = append(list, g.key[0])
			if len(list) == query.MaxInValues {
				break
			}
		}
		roots = append(roots, filter(fTraceID, "in", list))
	}

	limit := sp.limit
	if sp.errFilter != nil && !*sp.errFilter {
		// Traces with errors are dropped after counting: look further.
		limit = min(limit*4, query.MaxLimitNoSeries)
	}
	raw := &query.Spec{Filters: roots, StartTime: unix(sp.start), EndTime: unix(sp.end.Add(time.Second - 1))}
	out, err := a.Engine.Run(ctx, env, nil, raw, query.Options{DisableSeries: true, Now: a.now(), Limit: limit})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, ev := range out.Events {
		if ev.Time.Before(sp.start) || !ev.Time.Before(sp.end) {
			continue // the spec's window is in whole seconds
		}
		id, _ := ev.Data[fTraceID].(string)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
		s := &Summary{TraceID: id, RootDataset: ev.Dataset, Start: ev.Time.UTC(), Services: []string{}}
		s.RootService, _ = ev.Data[fService].(string)
		s.RootName, _ = ev.Data[fName].(string)
		if d, ok := ev.Data[fDuration].(float64); ok {
			s.DurationMs = d
		} else if d, ok := ev.Data[fDuration].(int64); ok {
			s.DurationMs = float64(d)
		}
		res.Traces = append(res.Traces, s)
	}
	if len(ids) == 0 {
		return res, nil
	}
	byID := map[string]*Summary{}
	for _, s := range res.Traces {
		byID[s.TraceID] = s
	}
	inIDs := filter(fTraceID, "in", ids)
	bd := []string{fTraceID}
	if has(fService) {
		bd = append(bd, fService)
	}
	counts, err := a.groupCounts(ctx, env, append(append([]query.SpecFilter(nil), spans...), inIDs), bd, leadStart, tailEnd, query.MaxLimitNoSeries)
	if err != nil {
		return nil, err
	}
	for _, g := range counts {
		s := byID[g.key[0]]
		if s == nil {
			continue
		}
		s.SpanCount += g.count
		if len(g.key) > 1 && g.key[1] != "" {
			s.Services = append(s.Services, g.key[1])
		}
	}
	if has(fError) {
		errs, err := a.groupCounts(ctx, env, append(append([]query.SpecFilter(nil), spans...), inIDs, filter(fError, "=", true)),
			[]string{fTraceID}, leadStart, tailEnd, query.MaxLimitNoSeries)
		if err != nil {
			return nil, err
		}
		for _, g := range errs {
			if s := byID[g.key[0]]; s != nil {
				s.ErrorCount += g.count
			}
		}
	}
	kept := res.Traces[:0]
	for _, s := range res.Traces {
		sort.Strings(s.Services)
		if sp.errFilter != nil && !*sp.errFilter && s.ErrorCount > 0 {
			continue
		}
		kept = append(kept, s)
	}
	if len(kept) > sp.limit {
		kept = kept[:sp.limit]
	}
	res.Traces = kept
	return res, nil
}

type group struct {
	key   []string
	count int64
}

// groupCounts runs an unweighted COUNT broken down by bd.
func (a *API) groupCounts(ctx context.Context, env event.EnvID, filters []query.SpecFilter, bd []string, start, end time.Time, limit int) ([]group, error) {
	spec := &query.Spec{
		Calculations: []query.Calculation{{Op: "COUNT"}},
		Filters:      filters,
		Breakdowns:   bd,
		StartTime:    unix(start),
		EndTime:      unix(end.Add(time.Second - 1)),
		UsageMode:    true,
	}
	out, err := a.Engine.Run(ctx, env, nil, spec, query.Options{
		DisableSeries: true, DisableTotalByAggregate: true, DisableOtherByAggregate: true, Now: a.now(), Limit: limit,
	})
	if err != nil {
		return nil, err
	}
	var gs []group
	for _, row := range out.Results {
		g := group{}
		for _, b := range bd {
			v, _ := row.Data[b].(string)
			g.key = append(g.key, v)
		}
		if n, ok := row.Data["COUNT"].(float64); ok {
			g.count = int64(n)
		}
		gs = append(gs, g)
	}
	return gs, nil
}
