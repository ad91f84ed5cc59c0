package filter

import (
	"encoding/json"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/xray"
)

// Groups resolves group.name / group.arn to the group's parsed expression;
// ok is false for an unknown group (which matches nothing).
type Groups func(name, arn string) (Expr, bool)

// Eval reports whether trace t matches e.
func Eval(e Expr, t *xray.Trace, groups Groups) bool {
	ev := &evaluator{t: t, groups: groups}
	return ev.eval(e, scope{})
}

type evaluator struct {
	t      *xray.Trace
	groups Groups
	depth  int
}

// scope is what a term is about: the whole trace (no spans), a node's
// segments, or an edge's calls.
type scope struct {
	spans []*xray.Span
	node  bool
}

func (ev *evaluator) eval(e Expr, sc scope) bool {
	switch x := e.(type) {
	case *True:
		return true
	case *And:
		return ev.eval(x.L, sc) && ev.eval(x.R, sc)
	case *Or:
		return ev.eval(x.L, sc) || ev.eval(x.R, sc)
	case *Not:
		return !ev.eval(x.X, sc)
	case *Group:
		if ev.groups == nil || ev.depth > 8 {
			return x.Neg
		}
		g, ok := ev.groups(x.Name, x.ARN)
		if !ok {
			return x.Neg
		}
		ev.depth++
		r := ev.eval(g, scope{})
		ev.depth--
		return r != x.Neg
	case *Service:
		nodes := map[string][]*xray.Span{}
		var order []string
		for _, s := range ev.t.Segments {
			if !matchNode(x.Node, s.Name, nodeType(s)) {
				continue
			}
			k := s.Name + "\x00" + nodeType(s)
			if _, ok := nodes[k]; !ok {
				order = append(order, k)
			}
			nodes[k] = append(nodes[k], s)
		}
		// Inferred nodes: remote calls without a downstream segment.
		for _, s := range ev.t.Spans {
			if s.Segment || s.Namespace == "" || hasSegmentChild(s) {
				continue
			}
			if !matchNode(x.Node, s.Name, inferredType(s)) {
				continue
			}
			k := s.Name + "\x00" + inferredType(s)
			if _, ok := nodes[k]; !ok {
				order = append(order, k)
			}
			nodes[k] = append(nodes[k], s)
		}
		for _, k := range order {
			if x.Filter == nil || ev.eval(x.Filter, scope{spans: nodes[k], node: true}) {
				return true
			}
		}
		return false
	case *Edge:
		var calls []*xray.Span
		for _, s := range ev.t.Spans {
			if s.Seg == nil {
				continue
			}
			var caller *xray.Span
			switch {
			case s.Segment && s.Parent != nil && s.Parent.Seg != nil:
				caller = s.Parent.Seg
			case !s.Segment && s.Namespace != "" && !hasSegmentChild(s):
				caller = s.Seg
			default:
				continue
			}
			toType := nodeType(s)
			if !s.Segment {
				toType = inferredType(s)
			}
			if matchNode(x.From, caller.Name, nodeType(caller)) && matchNode(x.To, s.Name, toType) {
				calls = append(calls, s)
			}
		}
		if len(calls) == 0 {
			return false
		}
		return x.Filter == nil || ev.eval(x.Filter, scope{spans: calls, node: true})
	case *Term:
		return ev.term(x, sc)
	}
	return false
}

func hasSegmentChild(s *xray.Span) bool {
	for _, c := range s.Children {
		if c.Segment {
			return true
		}
	}
	return false
}

func nodeType(s *xray.Span) string { return s.Origin }

func inferredType(s *xray.Span) string {
	if s.Namespace == "aws" {
		return "AWS::" + s.Name
	}
	return "remote"
}

func matchNode(n NodeID, name, typ string) bool {
	if n.Name != "" && n.Name != name {
		return false
	}
	if n.Type != "" && n.Type != typ {
		return false
	}
	return true
}

// term evaluates a keyword. In a node or edge scope it holds if any of the
// scope's spans satisfies it; at trace level per the package comment.
func (ev *evaluator) term(x *Term, sc scope) bool {
	t := ev.t
	if sc.node {
		for _, s := range sc.spans {
			if ev.spanTerm(x, s, len(sc.spans) > 0 && s == sc.spans[0], s == sc.spans[len(sc.spans)-1]) {
				return true
			}
		}
		return false
	}
	root := t.Root
	switch x.Key {
	case "ok", "error", "fault", "responsetime", "http.status", "http.url", "http.method", "http.useragent",
		"http.clientip", "root", "first", "last", "remote", "inferred", "index":
		if root == nil {
			return false
		}
		return ev.spanTerm(x, root, true, true)
	case "throttle":
		return anySpan(t.Spans, func(s *xray.Span) bool { return cmpBool(x, s.Throttle) }, x)
	case "partial":
		return cmpBool(x, t.Partial())
	case "duration":
		return cmpNum(x, t.DurationSec())
	}
	// user, name, type, message, annotations, availabilityzone, …: any span.
	return anySpan(t.Spans, func(s *xray.Span) bool { return ev.spanTerm(x, s, false, false) }, x)
}

// anySpan evaluates a positive term over every span; a negated comparison
// (!=, = false) must hold for all spans that carry the value.
func anySpan(spans []*xray.Span, f func(*xray.Span) bool, x *Term) bool {
	for _, s := range spans {
		if f(s) {
			return true
		}
	}
	return false
}

func (ev *evaluator) spanTerm(x *Term, s *xray.Span, first, last bool) bool {
	switch x.Key {
	case "ok":
		return cmpBool(x, s.OK())
	case "error":
		return cmpBool(x, s.Error)
	case "fault":
		return cmpBool(x, s.Fault)
	case "throttle":
		return cmpBool(x, s.Throttle)
	case "partial":
		return cmpBool(x, s.InProgress)
	case "inferred":
		return cmpBool(x, s.Inferred || !s.Segment)
	case "root":
		return cmpBool(x, s == ev.t.Root)
	case "first":
		return cmpBool(x, first)
	case "last":
		return cmpBool(x, last)
	case "remote":
		return cmpBool(x, s.Namespace == "remote" || s.Namespace == "aws")
	case "responsetime":
		return cmpNum(x, s.DurationMs/1000)
	case "duration":
		return cmpNum(x, s.DurationMs/1000)
	case "index", "coverage":
		return cmpNum(x, 0)
	case "http.status":
		if !s.HasStatus {
			return false
		}
		return cmpNum(x, float64(s.HTTPStatus))
	case "http.url":
		return cmpStr(x, s.HTTPURL, s.HTTPURL != "")
	case "http.method":
		return cmpStr(x, s.HTTPMethod, s.HTTPMethod != "")
	case "http.useragent":
		return cmpStr(x, s.HTTPUserAgent, s.HTTPUserAgent != "")
	case "http.clientip":
		return cmpStr(x, s.HTTPClientIP, s.HTTPClientIP != "")
	case "user":
		return cmpStr(x, s.User, s.User != "")
	case "name", "service":
		return cmpStr(x, s.Name, true)
	case "type":
		return cmpStr(x, s.Origin, s.Origin != "")
	case "message":
		m := fieldText(s.Fields, "exception.message")
		return cmpStr(x, m, m != "")
	case "availabilityzone":
		m := fieldText(s.Fields, "aws.ec2.availability_zone")
		return cmpStr(x, m, m != "")
	case "instance.id":
		m := fieldText(s.Fields, "aws.ec2.instance_id")
		return cmpStr(x, m, m != "")
	case "resource.arn":
		m := fieldText(s.Fields, "xray.resource_arn")
		return cmpStr(x, m, m != "")
	}
	if k, ok := strings.CutPrefix(x.Key, "annotation."); ok {
		v, has := s.Annotations[k]
		if x.Op == "" {
			return has
		}
		if !has {
			return false
		}
		switch val := v.(type) {
		case string:
			return x.Kind == 's' && cmpStr(x, val, true)
		case bool:
			return x.Kind == 'b' && cmpBool(x, val)
		case int64:
			return x.Kind == 'n' && cmpNum(x, float64(val))
		case float64:
			return x.Kind == 'n' && cmpNum(x, val)
		}
		return false
	}
	return false
}

func fieldText(fs []event.Field, k string) string {
	for _, f := range fs {
		if f.Key == k && !f.Value.IsNull() {
			return f.Value.Text()
		}
	}
	return ""
}

func cmpBool(x *Term, v bool) bool {
	if x.Op == "" {
		return v
	}
	if x.Kind != 'b' {
		return false
	}
	if x.Op == "!=" {
		return v != x.Bool
	}
	return v == x.Bool
}

func cmpNum(x *Term, v float64) bool {
	switch x.Op {
	case "=":
		return v == x.Num
	case "!=":
		return v != x.Num
	case "<":
		return v < x.Num
	case "<=":
		return v <= x.Num
	case ">":
		return v > x.Num
	case ">=":
		return v >= x.Num
	}
	return false
}

func cmpStr(x *Term, v string, has bool) bool {
	if x.Kind != 's' {
		return false
	}
	switch x.Op {
	case "=":
		return has && v == x.Str
	case "!=":
		return v != x.Str
	case "CONTAINS":
		return has && strings.Contains(v, x.Str) || x.Str == "" && has
	case "BEGINSWITH":
		return has && strings.HasPrefix(v, x.Str)
	case "ENDSWITH":
		return has && strings.HasSuffix(v, x.Str)
	}
	return false
}

// Pushdown returns query-spec filters on the entry span that every trace
// matching e satisfies (a superset pre-filter; Eval decides). Only the
// top-level conjunction's entry-segment terms are used; cols are the
// environment's columns, so that a term whose value other protocols keep in
// another column (http.response.status_code…) is not pushed.
func Pushdown(e Expr, cols map[string]query.ColumnInfo) []query.SpecFilter {
	var out []query.SpecFilter
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case *And:
			walk(x.L)
			walk(x.R)
		case *Term:
			if f, ok := pushTerm(x, cols); ok {
				out = append(out, f)
			}
		}
	}
	walk(e)
	return out
}

// aliases lists, per entry-span keyword, the column X-Ray segments use and
// the columns other protocols may use for the same value.
var aliases = map[string][]string{
	"http.status":    {xray.FHTTPStatus, "http.response.status_code"},
	"http.url":       {xray.FHTTPURL, "url.full"},
	"http.method":    {xray.FHTTPMethod, "http.request.method"},
	"http.useragent": {xray.FHTTPUserAgent, "user_agent.original"},
	"http.clientip":  {xray.FHTTPClientIP, "client.address", "http.client_ip_address"},
}

func spec(col, op string, v any) query.SpecFilter {
	f := query.SpecFilter{Column: col, Op: op}
	if v != nil {
		f.Value, _ = json.Marshal(v)
	}
	return f
}

func pushTerm(x *Term, cols map[string]query.ColumnInfo) (query.SpecFilter, bool) {
	switch x.Key {
	case "responsetime":
		if _, ok := cols[xray.FDuration]; !ok {
			return query.SpecFilter{}, false
		}
		switch x.Op {
		case ">", ">=", "<", "<=", "=":
			op := x.Op
			return spec(xray.FDuration, op, x.Num*1000), true
		}
	case "fault", "error":
		// fault and X-Ray's error both set the error column of the span.
		if _, ok := cols[xray.FError]; !ok {
			return query.SpecFilter{}, false
		}
		if x.Op == "" || (x.Kind == 'b' && x.Op == "=" && x.Bool) || (x.Kind == 'b' && x.Op == "!=" && !x.Bool) {
			return spec(xray.FError, "=", true), true
		}
	case "http.status", "http.url", "http.method", "http.useragent", "http.clientip":
		al := aliases[x.Key]
		n := 0
		for _, c := range al {
			if _, ok := cols[c]; ok {
				n++
			}
		}
		if _, ok := cols[al[0]]; !ok || n != 1 {
			return query.SpecFilter{}, false
		}
		col := al[0]
		if x.Kind == 'n' {
			switch x.Op {
			case "=", ">", ">=", "<", "<=":
				return spec(col, x.Op, x.Num), true
			}
			return query.SpecFilter{}, false
		}
		switch x.Op {
		case "=":
			return spec(col, "=", x.Str), true
		case "CONTAINS":
			return spec(col, "contains", x.Str), true
		case "BEGINSWITH":
			return spec(col, "starts-with", x.Str), true
		case "ENDSWITH":
			return spec(col, "ends-with", x.Str), true
		}
	}
	return query.SpecFilter{}, false
}

// AnySpanPushdown returns, for the top-level conjunction's annotation
// terms (which hold when any span of the trace matches), query-spec
// filters on the spans that carry them: the traces with such a span are a
// superset of the matching traces, and usually far fewer than all. Terms
// whose column does not exist are left out (Eval decides).
func AnySpanPushdown(e Expr, cols map[string]query.ColumnInfo) []query.SpecFilter {
	var out []query.SpecFilter
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case *And:
			walk(x.L)
			walk(x.R)
		case *Term:
			if !strings.HasPrefix(x.Key, "annotation.") {
				return
			}
			if _, ok := cols[x.Key]; !ok {
				return
			}
			switch {
			case x.Op == "":
				out = append(out, spec(x.Key, "exists", nil))
			case x.Kind == 's' && x.Op == "=":
				out = append(out, spec(x.Key, "=", x.Str))
			case x.Kind == 's' && x.Op == "CONTAINS" && x.Str != "":
				out = append(out, spec(x.Key, "contains", x.Str))
			case x.Kind == 's' && x.Op == "BEGINSWITH":
				out = append(out, spec(x.Key, "starts-with", x.Str))
			case x.Kind == 's' && x.Op == "ENDSWITH":
				out = append(out, spec(x.Key, "ends-with", x.Str))
			case x.Kind == 'n' && x.Op != "!=":
				out = append(out, spec(x.Key, x.Op, x.Num))
			case x.Kind == 'b' && x.Op == "=":
				out = append(out, spec(x.Key, "=", x.Bool))
			case x.Kind == 'b' && x.Op == "!=":
				out = append(out, spec(x.Key, "=", !x.Bool))
			}
		}
	}
	walk(e)
	return out
}
