package xray

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// Span is one span of a trace read back from the store, whichever protocol
// brought it (X-Ray segments, OTLP spans, Honeycomb beelines), with X-Ray's
// view of it.
type Span struct {
	ID, ParentID, Name, Service, Dataset string
	Start                                time.Time
	DurationMs                           float64
	// Segment says X-Ray sees the span as a segment (an entry into a
	// service); otherwise it is a subsegment of its parent.
	Segment    bool
	FromXRay   bool
	Kind       string
	Namespace  string
	Origin     string
	User       string
	Fault      bool
	Error      bool
	Throttle   bool
	InProgress bool
	Inferred   bool

	HTTPMethod, HTTPURL, HTTPUserAgent, HTTPClientIP string
	HTTPStatus                                       int64
	HTTPContentLength                                int64
	HasStatus, HasContentLength, XForwardedFor       bool
	Traced                                           bool

	Annotations map[string]any
	Fields      []event.Field

	Parent   *Span
	Children []*Span
	// Seg is the segment the span belongs to (itself for a segment).
	Seg *Span
}

// StartSec and EndSec are X-Ray's epoch seconds.
func (s *Span) StartSec() float64 { return float64(s.Start.UnixNano()) / 1e9 }

// EndSec is the span's end in epoch seconds.
func (s *Span) EndSec() float64 { return s.StartSec() + s.DurationMs/1000 }

// OK reports that the span has no error, fault or throttle.
func (s *Span) OK() bool { return !s.Fault && !s.Error && !s.Throttle }

// Trace is a whole trace with X-Ray's structure: segments, their
// subsegments, and the entry segment.
type Trace struct {
	// ID is the W3C trace id; XRayID the X-Ray form.
	ID, XRayID string
	Spans      []*Span
	Segments   []*Span
	// Root is the entry segment: the earliest segment whose parent is not in
	// the trace (nil for a trace without spans).
	Root       *Span
	Start, End time.Time
}

// DurationSec is the trace's duration (first start to last end).
func (t *Trace) DurationSec() float64 { return t.End.Sub(t.Start).Seconds() }

// Partial reports whether any span is still in progress.
func (t *Trace) Partial() bool {
	for _, s := range t.Spans {
		if s.InProgress {
			return true
		}
	}
	return false
}

func valStr(v event.Value) string {
	if v.IsNull() {
		return ""
	}
	return v.Text()
}

func valNum(v event.Value) (float64, bool) {
	switch v.Type() {
	case event.TypeInt, event.TypeFloat:
		return v.Float(), true
	case event.TypeString:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.Str()), 64)
		return f, err == nil
	}
	return 0, false
}

// SpanFromFields reads one span event; ok is false for events that are not
// spans (span events, links, logs).
func SpanFromFields(fs []event.Field, ts time.Time, dataset string) (*Span, bool) {
	s := &Span{Start: ts, Dataset: dataset, Fields: fs}
	var errFlag, hasFault bool
	var statusCode int64
	for _, f := range fs {
		v := f.Value
		switch f.Key {
		case FSpanID:
			s.ID = valStr(v)
		case FParentID:
			s.ParentID = valStr(v)
		case FName:
			s.Name = valStr(v)
		case FService:
			s.Service = valStr(v)
		case FDuration:
			s.DurationMs, _ = valNum(v)
		case FAnnotation:
			if valStr(v) != "" {
				return nil, false
			}
		case FSignal:
			if x := valStr(v); x != "" && x != "trace" {
				return nil, false
			}
		case FXRayType:
			s.FromXRay = true
			s.Segment = valStr(v) == "segment"
		case FKind:
			s.Kind = valStr(v)
		case FNamespace:
			s.Namespace = valStr(v)
		case FOrigin:
			s.Origin = valStr(v)
		case FUser, "enduser.id":
			if s.User == "" {
				s.User = valStr(v)
			}
		case FError:
			errFlag = v.Bool()
		case FFault:
			s.Fault, hasFault = v.Bool(), true
		case FXRayError:
			s.Error = v.Bool()
		case FThrottle:
			s.Throttle = v.Bool()
		case FInProgress:
			s.InProgress = v.Bool()
		case FInferred:
			s.Inferred = v.Bool()
		case FHTTPMethod, "http.request.method":
			if s.HTTPMethod == "" {
				s.HTTPMethod = valStr(v)
			}
		case FHTTPURL, "url.full":
			if s.HTTPURL == "" {
				s.HTTPURL = valStr(v)
			}
		case FHTTPUserAgent, "user_agent.original":
			if s.HTTPUserAgent == "" {
				s.HTTPUserAgent = valStr(v)
			}
		case FHTTPClientIP, "client.address", "http.client_ip_address":
			if s.HTTPClientIP == "" {
				s.HTTPClientIP = valStr(v)
			}
		case FHTTPStatus, "http.response.status_code":
			if n, ok := valNum(v); ok && !s.HasStatus {
				s.HTTPStatus, s.HasStatus = int64(n), true
			}
		case FHTTPLength:
			if n, ok := valNum(v); ok {
				s.HTTPContentLength, s.HasContentLength = int64(n), true
			}
		case FHTTPXFF:
			s.XForwardedFor = v.Bool()
		case FHTTPTraced:
			s.Traced = v.Bool()
		case FStatusCode:
			statusCode = v.Int()
		default:
			if k, ok := strings.CutPrefix(f.Key, AnnotationPrefix); ok && k != "" {
				if s.Annotations == nil {
					s.Annotations = map[string]any{}
				}
				s.Annotations[k] = v.Any()
			}
		}
	}
	if s.ID == "" {
		return nil, false
	}
	if !s.FromXRay {
		// OTLP and other spans: X-Ray's exporter rule — an error status is
		// a client error for a 4xx response, a fault otherwise; 429 throttles.
		isErr := errFlag || statusCode == 2
		if isErr {
			if s.HasStatus && s.HTTPStatus >= 400 && s.HTTPStatus < 500 {
				s.Error = true
			} else {
				s.Fault = true
			}
		}
		if s.HasStatus && s.HTTPStatus == 429 {
			s.Throttle, s.Error = true, true
		}
		if s.HasStatus && s.HTTPStatus >= 500 {
			s.Fault = true
		}
		if s.Namespace == "" && s.Kind == "client" {
			s.Namespace = "remote"
		}
	} else if !hasFault && errFlag && !s.Error {
		s.Fault = true
	}
	if s.Service == "" {
		s.Service = dataset
	}
	return s, true
}

// BuildTrace assembles a trace from its events (as store.Trace returns
// them). A span id seen twice keeps the complete version over an in-progress
// one, else the later.
func BuildTrace(w3c string, evs []query.RawEvent) *Trace {
	t := &Trace{ID: w3c, XRayID: FromW3C(w3c)}
	byID := map[string]*Span{}
	var order []string
	for _, ev := range evs {
		s, ok := SpanFromFields(ev.Fields, ev.Time, ev.Dataset)
		if !ok {
			continue
		}
		if old, dup := byID[s.ID]; dup {
			if !old.InProgress && s.InProgress {
				continue
			}
		} else {
			order = append(order, s.ID)
		}
		byID[s.ID] = s
	}
	for _, id := range order {
		t.Spans = append(t.Spans, byID[id])
	}
	sort.SliceStable(t.Spans, func(i, j int) bool { return t.Spans[i].Start.Before(t.Spans[j].Start) })
	for _, s := range t.Spans {
		if p := byID[s.ParentID]; p != nil && s.ParentID != s.ID {
			s.Parent = p
			p.Children = append(p.Children, s)
		}
	}
	for _, s := range t.Spans {
		if !s.FromXRay {
			s.Segment = s.Parent == nil || s.Parent.Service != s.Service || s.Kind == "server" || s.Kind == "consumer"
			if s.Segment {
				// X-Ray's exporter names a segment after its service.
				s.Name = s.Service
			}
		} else if !s.Segment && s.Parent == nil {
			// A streamed subsegment whose parent never arrived stands alone.
			s.Segment = true
		}
	}
	for _, s := range t.Spans {
		seg := s
		for n := 0; !seg.Segment && seg.Parent != nil && n < 1000; n++ {
			seg = seg.Parent
		}
		s.Seg = seg
		if s.Segment {
			t.Segments = append(t.Segments, s)
		}
		end := s.Start.Add(time.Duration(s.DurationMs * float64(time.Millisecond)))
		if t.Start.IsZero() || s.Start.Before(t.Start) {
			t.Start = s.Start
		}
		if end.After(t.End) {
			t.End = end
		}
	}
	for _, s := range t.Segments {
		if s.Parent == nil {
			t.Root = s
			break
		}
	}
	if t.Root == nil && len(t.Segments) > 0 {
		t.Root = t.Segments[0]
	}
	return t
}

// Document renders a segment with its subsegments embedded as the X-Ray
// segment document BatchGetTraces returns.
func (t *Trace) Document(seg *Span) string {
	b, _ := json.Marshal(t.entityDoc(seg, true))
	return string(b)
}

func (t *Trace) entityDoc(s *Span, top bool) map[string]any {
	d := map[string]any{
		"id":         s.ID,
		"name":       s.Name,
		"start_time": s.StartSec(),
		"trace_id":   t.XRayID,
	}
	if s.InProgress {
		d["in_progress"] = true
	} else {
		d["end_time"] = s.EndSec()
	}
	if s.ParentID != "" {
		d["parent_id"] = s.ParentID
	}
	if !top {
		if s.Namespace != "" {
			d["namespace"] = s.Namespace
		}
	}
	if s.Origin != "" {
		d["origin"] = s.Origin
	}
	if s.User != "" {
		d["user"] = s.User
	}
	if s.Fault {
		d["fault"] = true
	}
	if s.Error {
		d["error"] = true
	}
	if s.Throttle {
		d["throttle"] = true
	}
	if s.Inferred {
		d["inferred"] = true
	}
	req := map[string]any{}
	if s.HTTPMethod != "" {
		req["method"] = s.HTTPMethod
	}
	if s.HTTPURL != "" {
		req["url"] = s.HTTPURL
	}
	if s.HTTPUserAgent != "" {
		req["user_agent"] = s.HTTPUserAgent
	}
	if s.HTTPClientIP != "" {
		req["client_ip"] = s.HTTPClientIP
	}
	if s.XForwardedFor {
		req["x_forwarded_for"] = true
	}
	if s.Traced {
		req["traced"] = true
	}
	resp := map[string]any{}
	if s.HasStatus {
		resp["status"] = s.HTTPStatus
	}
	if s.HasContentLength {
		resp["content_length"] = s.HTTPContentLength
	}
	if len(req)+len(resp) > 0 {
		h := map[string]any{}
		if len(req) > 0 {
			h["request"] = req
		}
		if len(resp) > 0 {
			h["response"] = resp
		}
		d["http"] = h
	}
	if len(s.Annotations) > 0 {
		d["annotations"] = s.Annotations
	}
	objs := map[string]map[string]any{}
	meta := map[string]any{}
	var other map[string]any
	for _, f := range s.Fields {
		k := f.Key
		switch {
		case strings.HasPrefix(k, "aws.") || strings.HasPrefix(k, "sql."):
			root, rest, _ := strings.Cut(k, ".")
			if objs[root] == nil {
				objs[root] = map[string]any{}
			}
			setPath(objs[root], rest, f.Value.Any())
		case strings.HasPrefix(k, "service.") && k != FService:
			if objs["service"] == nil {
				objs["service"] = map[string]any{}
			}
			objs["service"][strings.TrimPrefix(k, "service.")] = f.Value.Any()
		case strings.HasPrefix(k, MetadataPrefix):
			ns := strings.TrimPrefix(k, MetadataPrefix)
			var raw json.RawMessage
			if json.Unmarshal([]byte(f.Value.Text()), &raw) == nil {
				meta[ns] = raw
			} else {
				meta[ns] = f.Value.Any()
			}
		case k == FCause:
			var raw json.RawMessage
			if json.Unmarshal([]byte(f.Value.Text()), &raw) == nil {
				d["cause"] = raw
			}
		case k == FCauseID:
			if _, ok := d["cause"]; !ok {
				d["cause"] = f.Value.Text()
			}
		case k == "xray.resource_arn":
			d["resource_arn"] = f.Value.Text()
		case k == "xray.precursor_ids":
			var raw json.RawMessage
			if json.Unmarshal([]byte(f.Value.Text()), &raw) == nil {
				d["precursor_ids"] = raw
			}
		case !s.FromXRay && !structural[k] && !strings.HasPrefix(k, "meta.") && !strings.HasPrefix(k, "trace."):
			// Attributes of spans from other protocols go to metadata.
			if other == nil {
				other = map[string]any{}
			}
			other[k] = f.Value.Any()
		}
	}
	for k, v := range objs {
		d[k] = v
	}
	if other != nil {
		meta["otel"] = other
	}
	if len(meta) > 0 {
		d["metadata"] = meta
	}
	if _, ok := d["cause"]; !ok && (s.Fault || s.Error) {
		if ex := fieldStr(s.Fields, "exception.message"); ex != "" || fieldStr(s.Fields, "exception.type") != "" {
			d["cause"] = map[string]any{"exceptions": []map[string]any{{
				"id": s.ID, "type": fieldStr(s.Fields, "exception.type"), "message": ex,
			}}}
		}
	}
	var subs []map[string]any
	for _, c := range s.Children {
		if c.Segment {
			continue
		}
		subs = append(subs, t.entityDoc(c, false))
	}
	if len(subs) > 0 {
		d["subsegments"] = subs
	}
	return d
}

// structural are columns the document renders elsewhere.
var structural = map[string]bool{
	FName: true, FService: true, FDuration: true, FError: true, FFault: true, FThrottle: true, FKind: true, FType: true,
	FOrigin: true, FUser: true, FHTTPMethod: true, FHTTPURL: true, FHTTPStatus: true, FHTTPUserAgent: true,
	FHTTPClientIP: true, FHTTPLength: true, FStatusCode: true, "status_message": true, "span.num_links": true,
	"span.num_events": true, "http.request.method": true, "url.full": true, "http.response.status_code": true,
	"user_agent.original": true, "client.address": true, "enduser.id": true,
}

func fieldStr(fs []event.Field, k string) string {
	for _, f := range fs {
		if f.Key == k {
			return valStr(f.Value)
		}
	}
	return ""
}

// setPath sets a dotted path in nested maps; a path colliding with a leaf
// keeps the rest of its name as one key.
func setPath(m map[string]any, path string, v any) {
	for {
		head, rest, ok := strings.Cut(path, ".")
		if !ok {
			if _, exists := m[path].(map[string]any); !exists {
				m[path] = v
			}
			return
		}
		sub, isMap := m[head].(map[string]any)
		if !isMap {
			if _, exists := m[head]; exists {
				m[path] = v
				return
			}
			sub = map[string]any{}
			m[head] = sub
		}
		m, path = sub, rest
	}
}
