package api

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/xray"
	"github.com/waggle-hq/waggle/internal/xray/filter"
)

// Page sizes.
const (
	summariesPerPage = 100
	tracesPerPage    = 5
	candidateChunk   = 500
	// traceTail / traceLead: how far around the window spans of a found
	// trace are looked for.
	traceTail = time.Hour
	traceLead = 10 * time.Minute
)

func (a *API) putTraceSegments(c *call) (any, *apiError) {
	var req struct {
		TraceSegmentDocuments []string `json:"TraceSegmentDocuments"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	if req.TraceSegmentDocuments == nil {
		return nil, invalidRequest("TraceSegmentDocuments is required")
	}
	type unprocessed struct {
		ID        string `json:"Id,omitempty"`
		ErrorCode string `json:"ErrorCode"`
		Message   string `json:"Message"`
	}
	res := struct {
		UnprocessedTraceSegments []unprocessed `json:"UnprocessedTraceSegments"`
	}{UnprocessedTraceSegments: []unprocessed{}}
	var evs []event.Event
	var p xray.Parser
	now := a.Now()
	for _, doc := range req.TraceSegmentDocuments {
		docs := []string{doc}
		// "an array of subsegments" is a document too.
		if t := strings.TrimSpace(doc); strings.HasPrefix(t, "[") {
			var arr []json.RawMessage
			if json.Unmarshal([]byte(t), &arr) == nil {
				docs = docs[:0]
				for _, x := range arr {
					docs = append(docs, string(x))
				}
			}
		}
		for _, d := range docs {
			s, err := p.Parse([]byte(d))
			if err != nil {
				var ie *xray.InvalidError
				u := unprocessed{ErrorCode: "InvalidSegment", Message: "Invalid segment. " + err.Error()}
				if errors.As(err, &ie) {
					u = unprocessed{ID: ie.ID, ErrorCode: ie.Code, Message: "Invalid segment. ErrorCode: " + ie.Code}
				}
				res.UnprocessedTraceSegments = append(res.UnprocessedTraceSegments, u)
				continue
			}
			evs = a.Assembler.Add(c.env, s, now, evs)
		}
	}
	if len(evs) > 0 {
		if err := a.Pipeline.Submit(c.ctx, event.Batch{Env: c.env, Events: evs}); err != nil {
			if errors.Is(err, ingest.ErrOverloaded) {
				return nil, errThrottled()
			}
			return nil, a.internal("put trace segments", err)
		}
	}
	return res, nil
}

// --- trace search ---

func specFilter(col, op string, v any) query.SpecFilter {
	f := query.SpecFilter{Column: col, Op: op}
	if v != nil {
		f.Value, _ = json.Marshal(v)
	}
	return f
}

// root is a candidate entry span of a trace.
type root struct {
	trace string
	time  time.Time
}

// candidates returns entry spans (spans without a parent, and X-Ray
// segments whose parent is outside waggle) started in [start, end), newest
// first, at most limit of each kind, matching extra.
func (a *API) candidates(c *call, cols map[string]query.ColumnInfo, start, end time.Time, extra []query.SpecFilter, limit int) ([]root, bool, error) {
	has := func(k string) bool { _, ok := cols[k]; return ok }
	if !has(xray.FTraceID) || !has(xray.FSpanID) {
		return nil, false, nil
	}
	base := []query.SpecFilter{specFilter(xray.FSpanID, "exists", nil)}
	if has(xray.FAnnotation) {
		base = append(base, specFilter(xray.FAnnotation, "does-not-exist", nil))
	}
	var specs [][]query.SpecFilter
	if has(xray.FParentID) {
		specs = append(specs, append(append(append([]query.SpecFilter{}, base...), specFilter(xray.FParentID, "does-not-exist", nil)), extra...))
		if has(xray.FXRayType) {
			specs = append(specs, append(append(append([]query.SpecFilter{}, base...), specFilter(xray.FXRayType, "=", "segment"),
				specFilter(xray.FParentID, "exists", nil)), extra...))
		}
	} else {
		specs = append(specs, append(base, extra...))
	}
	var out []root
	full := false
	for _, fs := range specs {
		st, en := start.Unix(), end.Unix()
		spec := &query.Spec{Filters: fs, StartTime: &st, EndTime: &en}
		plan, err := a.Engine.Plan(c.ctx, c.env, nil, spec, query.Options{DisableSeries: true, Limit: limit, Now: a.Now()})
		if err != nil {
			var qe *query.Error
			if errors.As(err, &qe) {
				continue // a column of a pushed-down filter does not exist: nothing matches
			}
			return nil, false, err
		}
		plan.Start, plan.End = start, end
		res, err := a.Exec.Execute(c.ctx, c.env, plan)
		if err != nil {
			return nil, false, err
		}
		if len(res.Events) >= limit {
			full = true
		}
		for _, ev := range res.Events {
			for _, f := range ev.Fields {
				if f.Key == xray.FTraceID {
					out = append(out, root{trace: f.Value.Text(), time: ev.Time})
					break
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].time.After(out[j].time) })
	return out, full, nil
}

// summaryCursor is GetTraceSummaries' NextToken: the end of the next
// window and the trace ids already returned at that instant.
type summaryCursor struct {
	End  int64    `json:"e"`
	Seen []string `json:"s,omitempty"`
}

func (a *API) loadTrace(c *call, id string) (*xray.Trace, error) {
	evs, err := a.Store.Trace(c.ctx, c.env, id)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, nil
	}
	return xray.BuildTrace(id, evs), nil
}

func (a *API) groupResolver(c *call) filter.Groups {
	cache := map[string]filter.Expr{}
	return func(name, arn string) (filter.Expr, bool) {
		if name == "" {
			name = groupNameFromARN(arn)
		}
		if e, ok := cache[name]; ok {
			return e, e != nil
		}
		g, err := a.Meta.XRayGroup(c.ctx, int64(c.env), name)
		if err != nil {
			cache[name] = nil
			return nil, false
		}
		e, err := filter.Parse(g.FilterExpression)
		if err != nil {
			cache[name] = nil
			return nil, false
		}
		cache[name] = e
		return e, true
	}
}

func (a *API) getTraceSummaries(c *call) (any, *apiError) {
	var req struct {
		StartTime        *epoch `json:"StartTime"`
		EndTime          *epoch `json:"EndTime"`
		TimeRangeType    string `json:"TimeRangeType"`
		Sampling         bool   `json:"Sampling"`
		FilterExpression string `json:"FilterExpression"`
		NextToken        string `json:"NextToken"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	if req.StartTime == nil || req.EndTime == nil {
		return nil, invalidRequest("StartTime and EndTime are required")
	}
	start, end := req.StartTime.time(), req.EndTime.time()
	if !start.Before(end) {
		return nil, invalidRequest("StartTime must be before EndTime")
	}
	expr, err := filter.Parse(req.FilterExpression)
	if err != nil {
		return nil, invalidRequest("%s", err.Error())
	}
	res, aerr := a.summaries(c, expr, start, end, req.NextToken, summariesPerPage)
	if aerr != nil {
		return nil, aerr
	}
	return res, nil
}

type summariesResult struct {
	TraceSummaries       []map[string]any `json:"TraceSummaries"`
	ApproximateTime      float64          `json:"ApproximateTime"`
	TracesProcessedCount int64            `json:"TracesProcessedCount"`
	NextToken            *string          `json:"NextToken,omitempty"`
}

// summaries finds traces whose entry span started in [start, end) and that
// match expr, newest first, one page.
func (a *API) summaries(c *call, expr filter.Expr, start, end time.Time, next string, page int) (*summariesResult, *apiError) {
	cur := summaryCursor{End: end.UnixNano()}
	if next != "" && !untoken(next, &cur) {
		return nil, invalidRequest("The NextToken is invalid.")
	}
	cols, err := a.Catalog.Columns(c.ctx, c.env, nil)
	if err != nil {
		return nil, a.internal("columns", err)
	}
	push := filter.Pushdown(expr, cols)
	groups := a.groupResolver(c)
	res := &summariesResult{TraceSummaries: []map[string]any{}, ApproximateTime: secs(a.Now())}
	if any := filter.AnySpanPushdown(expr, cols); len(any) > 0 {
		// Annotations may be on any span: find the traces that have one
		// first, and look only at their entry spans.
		ids, ok, err := a.tracesWith(c, cols, any, start, end.Add(traceTail))
		if err != nil {
			return nil, a.internal("trace summaries", err)
		}
		if ok {
			if len(ids) == 0 {
				return res, nil
			}
			push = append(push, specFilter(xray.FTraceID, "in", ids))
		}
	}
	seen := map[string]bool{}
	for _, id := range cur.Seen {
		seen[id] = true
	}
	winEnd := time.Unix(0, cur.End)
	var lastTime time.Time
	var atLast []string
	more := false
	for len(res.TraceSummaries) < page && winEnd.After(start) {
		roots, full, err := a.candidates(c, cols, start, winEnd, push, candidateChunk)
		if err != nil {
			return nil, a.internal("trace summaries", err)
		}
		progressed := false
		for _, r := range roots {
			if seen[r.trace] {
				continue
			}
			seen[r.trace] = true
			progressed = true
			if !r.time.Equal(lastTime) {
				lastTime, atLast = r.time, atLast[:0]
			}
			atLast = append(atLast, r.trace)
			t, err := a.loadTrace(c, r.trace)
			if err != nil {
				return nil, a.internal("trace", err)
			}
			res.TracesProcessedCount++
			if t == nil || t.Root == nil || !filter.Eval(expr, t, groups) {
				continue
			}
			res.TraceSummaries = append(res.TraceSummaries, summary(t))
			if len(res.TraceSummaries) >= page {
				more = true
				break
			}
		}
		if more || !full || !progressed {
			break
		}
		winEnd = lastTime.Add(1)
	}
	if more {
		tok := token(summaryCursor{End: lastTime.Add(1).UnixNano(), Seen: atLast})
		res.NextToken = &tok
	}
	return res, nil
}

// maxPrefilter bounds the spans a pre-filter reads (the query engine's
// largest raw limit); past it the pre-filter is not used (the trace-level
// scan decides alone).
const maxPrefilter = query.MaxLimitNoSeries - 1

// tracesWith returns the distinct trace ids of the spans in [start, end)
// that match every filter; ok is false when there are more than
// maxPrefilter spans or a filter does not apply to its column.
func (a *API) tracesWith(c *call, cols map[string]query.ColumnInfo, fs []query.SpecFilter, start, end time.Time) ([]string, bool, error) {
	if _, ok := cols[xray.FTraceID]; !ok {
		return nil, false, nil
	}
	st, en := start.Unix(), end.Unix()+1
	spec := &query.Spec{Filters: append([]query.SpecFilter{specFilter(xray.FTraceID, "exists", nil)}, fs...), StartTime: &st, EndTime: &en}
	plan, err := a.Engine.Plan(c.ctx, c.env, nil, spec, query.Options{DisableSeries: true, Limit: maxPrefilter + 1, Now: a.Now()})
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return nil, false, nil
		}
		return nil, false, err
	}
	plan.Start, plan.End = start, end
	res, err := a.Exec.Execute(c.ctx, c.env, plan)
	if err != nil {
		return nil, false, err
	}
	if len(res.Events) > maxPrefilter {
		return nil, false, nil
	}
	seen := map[string]bool{}
	ids := []string{}
	for _, ev := range res.Events {
		for _, f := range ev.Fields {
			if f.Key == xray.FTraceID {
				if id := f.Value.Text(); !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
				break
			}
		}
	}
	return ids, true, nil
}

type serviceID struct {
	Name  string   `json:"Name"`
	Names []string `json:"Names"`
	Type  string   `json:"Type,omitempty"`
}

func svcID(s *xray.Span) serviceID {
	return serviceID{Name: s.Name, Names: []string{s.Name}, Type: s.Origin}
}

// summary renders X-Ray's TraceSummary of a trace.
func summary(t *xray.Trace) map[string]any {
	r := t.Root
	sum := map[string]any{
		"Id":           t.XRayID,
		"StartTime":    secs(r.Start),
		"Duration":     round3(t.DurationSec()),
		"ResponseTime": round3(r.DurationMs / 1000),
		"HasFault":     r.Fault,
		"HasError":     r.Error,
		"IsPartial":    t.Partial(),
		"Revision":     1,
		"EntryPoint":   svcID(r),
	}
	throttle := false
	services := []serviceID{}
	svcSeen := map[string]bool{}
	users := map[string][]serviceID{}
	ann := map[string][]map[string]any{}
	annSeen := map[string]bool{}
	for _, s := range t.Spans {
		throttle = throttle || s.Throttle
		seg := s.Seg
		if seg == nil {
			seg = s
		}
		if s.Segment && !svcSeen[s.Name+"\x00"+s.Origin] {
			svcSeen[s.Name+"\x00"+s.Origin] = true
			services = append(services, svcID(s))
		}
		if s.User != "" {
			users[s.User] = append(users[s.User], svcID(seg))
		}
		for k, v := range s.Annotations {
			av := map[string]any{}
			switch x := v.(type) {
			case string:
				av["StringValue"] = x
			case bool:
				av["BooleanValue"] = x
			case int64:
				av["NumberValue"] = float64(x)
			case float64:
				av["NumberValue"] = x
			default:
				continue
			}
			b, _ := json.Marshal(av)
			if annSeen[k+string(b)] {
				continue
			}
			annSeen[k+string(b)] = true
			ann[k] = append(ann[k], map[string]any{"AnnotationValue": av, "ServiceIds": []serviceID{svcID(seg)}})
		}
	}
	sum["HasThrottle"] = throttle
	sum["ServiceIds"] = services
	var ul []map[string]any
	for u, ids := range users {
		ul = append(ul, map[string]any{"UserName": u, "ServiceIds": ids})
	}
	if ul == nil {
		ul = []map[string]any{}
	}
	sum["Users"] = ul
	sum["Annotations"] = ann
	h := map[string]any{}
	if r.HTTPURL != "" {
		h["HttpURL"] = r.HTTPURL
	}
	if r.HasStatus {
		h["HttpStatus"] = r.HTTPStatus
	}
	if r.HTTPMethod != "" {
		h["HttpMethod"] = r.HTTPMethod
	}
	if r.HTTPUserAgent != "" {
		h["UserAgent"] = r.HTTPUserAgent
	}
	if r.HTTPClientIP != "" {
		h["ClientIp"] = r.HTTPClientIP
	}
	sum["Http"] = h
	sum["ResourceARNs"] = []any{}
	sum["InstanceIds"] = []any{}
	sum["AvailabilityZones"] = []any{}
	sum["FaultRootCauses"] = []any{}
	sum["ErrorRootCauses"] = []any{}
	sum["ResponseTimeRootCauses"] = []any{}
	return sum
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// normalizeID accepts an X-Ray trace id or a W3C id and returns the W3C id.
func normalizeID(id string) (string, bool) {
	if w, ok := xray.ToW3C(id); ok {
		return w, true
	}
	if len(id) == 32 {
		for i := 0; i < 32; i++ {
			ch := id[i]
			if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
				return "", false
			}
		}
		return strings.ToLower(id), true
	}
	return "", false
}

func (a *API) batchGetTraces(c *call) (any, *apiError) {
	var req struct {
		TraceIds  []string `json:"TraceIds"`
		NextToken string   `json:"NextToken"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	if req.TraceIds == nil {
		return nil, invalidRequest("TraceIds is required")
	}
	offset := 0
	if req.NextToken != "" && !untoken(req.NextToken, &offset) {
		return nil, invalidRequest("The NextToken is invalid.")
	}
	type segment struct {
		ID       string `json:"Id"`
		Document string `json:"Document"`
	}
	type trace struct {
		ID            string    `json:"Id"`
		Duration      float64   `json:"Duration"`
		LimitExceeded bool      `json:"LimitExceeded"`
		Segments      []segment `json:"Segments"`
	}
	res := struct {
		Traces              []trace  `json:"Traces"`
		UnprocessedTraceIds []string `json:"UnprocessedTraceIds"`
		NextToken           *string  `json:"NextToken,omitempty"`
	}{Traces: []trace{}, UnprocessedTraceIds: []string{}}
	ids := req.TraceIds
	if offset > len(ids) || offset < 0 {
		return nil, invalidRequest("The NextToken is invalid.")
	}
	ids = ids[offset:]
	if len(ids) > tracesPerPage {
		tok := token(offset + tracesPerPage)
		res.NextToken = &tok
		ids = ids[:tracesPerPage]
	}
	for _, id := range ids {
		w3c, ok := normalizeID(id)
		if !ok {
			res.UnprocessedTraceIds = append(res.UnprocessedTraceIds, id)
			continue
		}
		t, err := a.loadTrace(c, w3c)
		if err != nil {
			return nil, a.internal("batch get traces", err)
		}
		if t == nil || len(t.Segments) == 0 {
			res.UnprocessedTraceIds = append(res.UnprocessedTraceIds, id)
			continue
		}
		tr := trace{ID: t.XRayID, Duration: round3(t.DurationSec()), Segments: []segment{}}
		for _, s := range t.Segments {
			tr.Segments = append(tr.Segments, segment{ID: s.ID, Document: t.Document(s)})
		}
		res.Traces = append(res.Traces, tr)
	}
	return res, nil
}

// --- graphs ---

func statsJSON(s xray.Stats) map[string]any {
	return map[string]any{
		"OkCount":           s.OK,
		"ErrorStatistics":   map[string]any{"ThrottleCount": s.Throttle, "OtherCount": s.Error, "TotalCount": s.Error + s.Throttle},
		"FaultStatistics":   map[string]any{"OtherCount": s.Fault, "TotalCount": s.Fault},
		"TotalCount":        s.Total,
		"TotalResponseTime": round3(s.TotalResponseTime),
	}
}

func graphJSON(g *xray.Graph) []map[string]any {
	out := []map[string]any{}
	for _, n := range g.Nodes {
		edges := []map[string]any{}
		for ref, e := range n.Edges {
			edges = append(edges, map[string]any{
				"ReferenceId": ref, "StartTime": secs(e.Start), "EndTime": secs(e.End),
				"SummaryStatistics":     statsJSON(e.Stats),
				"ResponseTimeHistogram": xray.Histogram(e.ResponseTimes),
				"Aliases":               []any{},
			})
		}
		sort.Slice(edges, func(i, j int) bool { return edges[i]["ReferenceId"].(int) < edges[j]["ReferenceId"].(int) })
		m := map[string]any{
			"ReferenceId": n.ReferenceID, "Name": n.Name, "Names": []string{n.Name}, "Root": n.Root,
			"Type": n.Type, "State": "active", "Edges": edges,
		}
		if n.Type == "client" {
			m["State"] = "unknown"
		} else {
			m["StartTime"], m["EndTime"] = secs(n.Start), secs(n.End)
			m["SummaryStatistics"] = statsJSON(n.Stats)
			m["DurationHistogram"] = xray.Histogram(n.Durations)
			m["ResponseTimeHistogram"] = xray.Histogram(n.Durations)
		}
		if n.Inferred {
			m["State"] = "unknown"
		}
		out = append(out, m)
	}
	return out
}

func (a *API) getTraceGraph(c *call) (any, *apiError) {
	var req struct {
		TraceIds []string `json:"TraceIds"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	if req.TraceIds == nil {
		return nil, invalidRequest("TraceIds is required")
	}
	g := xray.NewGraph()
	for _, id := range req.TraceIds {
		w3c, ok := normalizeID(id)
		if !ok {
			continue
		}
		t, err := a.loadTrace(c, w3c)
		if err != nil {
			return nil, a.internal("trace graph", err)
		}
		if t != nil {
			g.Add(t)
		}
	}
	return map[string]any{"Services": graphJSON(g)}, nil
}

// maxGraphTraces bounds the traces a service graph reads.
const maxGraphTraces = 2000

// graphTraces loads the traces of a window that match the group (if any).
func (a *API) graphTraces(c *call, start, end time.Time, groupName, groupARN string, each func(t *xray.Trace)) *apiError {
	var expr filter.Expr = &filter.True{}
	if groupName != "" || groupARN != "" {
		name := groupName
		if name == "" {
			name = groupNameFromARN(groupARN)
		}
		g, err := a.Meta.XRayGroup(c.ctx, int64(c.env), name)
		if err != nil {
			return errGroupNotFound()
		}
		if expr, err = filter.Parse(g.FilterExpression); err != nil {
			return invalidRequest("%s", err.Error())
		}
	}
	next := ""
	n := 0
	for {
		res, aerr := a.summariesTraces(c, expr, start, end, next, each)
		if aerr != nil {
			return aerr
		}
		n += res.n
		if res.next == "" || n >= maxGraphTraces {
			return nil
		}
		next = res.next
	}
}

type pageOut struct {
	n    int
	next string
}

// summariesTraces runs one summaries page, handing each matching trace to
// each.
func (a *API) summariesTraces(c *call, expr filter.Expr, start, end time.Time, next string, each func(t *xray.Trace)) (pageOut, *apiError) {
	res, aerr := a.summaries(c, expr, start, end, next, summariesPerPage)
	if aerr != nil {
		return pageOut{}, aerr
	}
	for _, s := range res.TraceSummaries {
		w3c, _ := normalizeID(s["Id"].(string))
		t, err := a.loadTrace(c, w3c)
		if err != nil {
			return pageOut{}, a.internal("graph", err)
		}
		if t != nil {
			each(t)
		}
	}
	out := pageOut{n: len(res.TraceSummaries)}
	if res.NextToken != nil {
		out.next = *res.NextToken
	}
	return out, nil
}

func (a *API) getServiceGraph(c *call) (any, *apiError) {
	var req struct {
		StartTime *epoch `json:"StartTime"`
		EndTime   *epoch `json:"EndTime"`
		GroupName string `json:"GroupName"`
		GroupARN  string `json:"GroupARN"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	if req.StartTime == nil || req.EndTime == nil {
		return nil, invalidRequest("StartTime and EndTime are required")
	}
	start, end := req.StartTime.time(), req.EndTime.time()
	g := xray.NewGraph()
	if aerr := a.graphTraces(c, start, end, req.GroupName, req.GroupARN, g.Add); aerr != nil {
		return nil, aerr
	}
	return map[string]any{"StartTime": secs(start), "EndTime": secs(end), "Services": graphJSON(g), "ContainsOldGroupVersions": false}, nil
}

func (a *API) getTimeSeries(c *call) (any, *apiError) {
	var req struct {
		StartTime                *epoch `json:"StartTime"`
		EndTime                  *epoch `json:"EndTime"`
		GroupName                string `json:"GroupName"`
		GroupARN                 string `json:"GroupARN"`
		EntitySelectorExpression string `json:"EntitySelectorExpression"`
		Period                   int    `json:"Period"`
	}
	if e := decode(c, &req); e != nil {
		return nil, e
	}
	if req.StartTime == nil || req.EndTime == nil {
		return nil, invalidRequest("StartTime and EndTime are required")
	}
	if req.Period == 0 {
		req.Period = 60
	}
	if req.Period < 60 || req.Period%60 != 0 {
		return nil, invalidRequest("Period must be a multiple of 60 seconds")
	}
	var sel filter.Expr = &filter.True{}
	if req.EntitySelectorExpression != "" {
		var err error
		if sel, err = filter.Parse(req.EntitySelectorExpression); err != nil {
			return nil, invalidRequest("%s", err.Error())
		}
	}
	start, end := req.StartTime.time(), req.EndTime.time()
	period := time.Duration(req.Period) * time.Second
	type bucket struct {
		svc  xray.Stats
		hist []float64
	}
	buckets := map[int64]*bucket{}
	selName := ""
	if s, ok := sel.(*filter.Service); ok {
		selName = s.Node.Name
	}
	aerr := a.graphTraces(c, start, end, req.GroupName, req.GroupARN, func(t *xray.Trace) {
		for _, s := range t.Segments {
			if selName != "" && s.Name != selName {
				continue
			}
			if selName == "" && s != t.Root {
				continue
			}
			k := s.Start.Truncate(period).Unix()
			b := buckets[k]
			if b == nil {
				b = &bucket{}
				buckets[k] = b
			}
			addStats(&b.svc, s)
			b.hist = append(b.hist, s.DurationMs/1000)
		}
	})
	if aerr != nil {
		return nil, aerr
	}
	var keys []int64
	for k := range buckets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out := []map[string]any{}
	for _, k := range keys {
		b := buckets[k]
		out = append(out, map[string]any{
			"Timestamp":                float64(k),
			"ServiceSummaryStatistics": statsJSON(b.svc),
			"EdgeSummaryStatistics":    statsJSON(b.svc),
			"ResponseTimeHistogram":    xray.Histogram(b.hist),
		})
	}
	return map[string]any{"TimeSeriesServiceStatistics": out, "ContainsOldGroupVersions": false}, nil
}

func addStats(st *xray.Stats, s *xray.Span) {
	st.Total++
	st.TotalResponseTime += s.DurationMs / 1000
	switch {
	case s.Fault:
		st.Fault++
	case s.Throttle:
		st.Throttle++
	case s.Error:
		st.Error++
	default:
		st.OK++
	}
}
