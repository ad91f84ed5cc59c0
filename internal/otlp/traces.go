package otlp

import (
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/waggle-hq/waggle/internal/event"
)

// Names of the datasets OTLP data lands in when nothing names one.
const (
	unknownService   = "unknown_service"
	unknownLogSource = "unknown_log_source"
	unknownMetrics   = "unknown_metrics"
)

// translation is what a request translates into: the events to store, and
// the items (spans, log records, data points) rejected with the first
// reason, reported to the client as a partial success.
type translation struct {
	events   []event.Event
	rejected int64
	reason   string
}

func (t *translation) reject(n int64, reason string) {
	if t.reason == "" {
		t.reason = reason
	}
	t.rejected += n
}

// requestInfo is what the receiver knows of a request besides its body.
type requestInfo struct {
	// dataset is the x-honeycomb-dataset header.
	dataset string
	// classic says the key is a Honeycomb classic key: traces then go to
	// dataset rather than to their service's dataset.
	classic bool
	// now is the time of receipt, used for items without a timestamp.
	now time.Time
}

// exceptionFields are the attributes an "exception" span event lifts onto
// its span.
var exceptionFields = []string{"exception.message", "exception.type", "exception.stacktrace", "exception.escaped"}

// translateTraces maps OTLP spans to events as husky does (see doc.go):
// per span its span events, then its links, then the span itself.
func translateTraces(td ptrace.Traces, ri requestInfo) translation {
	var t translation
	t.events = make([]event.Event, 0, td.SpanCount())
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		res := resourceFields(rs.Resource().Attributes(), rs.SchemaUrl())
		dataset, ok := serviceDataset(res)
		if !ok {
			dataset = unknownService
		}
		if ri.classic {
			dataset = strings.TrimSpace(ri.dataset)
		}
		if !usableDataset(dataset) {
			t.reject(int64(countSpans(rs)), "the dataset name is not usable")
			continue
		}
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			scope := scopeFields(ss.Scope(), ss.SchemaUrl())
			spans := ss.Spans()
			for k := range spans.Len() {
				translateSpan(&t, spans.At(k), dataset, res, scope, ri)
			}
		}
	}
	return t
}

func countSpans(rs ptrace.ResourceSpans) int {
	n := 0
	for j := range rs.ScopeSpans().Len() {
		n += rs.ScopeSpans().At(j).Spans().Len()
	}
	return n
}

func translateSpan(t *translation, sp ptrace.Span, dataset string, res, scope []event.Field, ri requestInfo) {
	if sp.TraceID().IsEmpty() || sp.SpanID().IsEmpty() {
		t.reject(1, "span with an empty trace_id or span_id")
		return
	}
	traceID := traceIDString(sp.TraceID())
	spanID := spanIDString(sp.SpanID())
	kind := spanKind(sp.Kind())
	code := sp.Status().Code()
	isError := code == ptrace.StatusCodeError
	start := timestamp(sp.StartTimestamp(), ri.now)

	f := newFieldSet(16 + len(res) + len(scope) + sp.Attributes().Len())
	f.set("trace.trace_id", event.String(traceID))
	f.set("trace.span_id", event.String(spanID))
	if !sp.ParentSpanID().IsEmpty() {
		f.set("trace.parent_id", event.String(spanIDString(sp.ParentSpanID())))
	}
	f.set("name", str(sp.Name()))
	f.set("type", event.String(kind))
	f.set("span.kind", event.String(kind))
	dur := int64(sp.EndTimestamp()) - int64(sp.StartTimestamp())
	if dur < 0 {
		f.set("duration_ms", event.Float(0))
		f.set("meta.invalid_duration", event.Bool(true))
	} else {
		f.set("duration_ms", event.Float(float64(dur)/float64(time.Millisecond)))
	}
	f.set("status_code", event.Int(int64(code)))
	if msg := sp.Status().Message(); msg != "" {
		f.set("status_message", str(msg))
	}
	if isError {
		f.set("error", event.Bool(true))
	}
	f.set("span.num_links", event.Int(int64(sp.Links().Len())))
	f.set("span.num_events", event.Int(int64(sp.Events().Len())))
	f.set("meta.signal_type", event.String("trace"))
	if ts := sp.TraceState().AsRaw(); ts != "" {
		f.set("trace.trace_state", str(ts))
	}
	f.addAll(res)
	f.addAll(scope)
	addAttrs(f, "", sp.Attributes(), 0)
	rate, ok := takeSampleRate(f)
	if !ok {
		rate = traceStateSampleRate(sp.TraceState().AsRaw())
	}

	evs := sp.Events()
	for i := range evs.Len() {
		se := evs.At(i)
		e := newFieldSet(8 + len(res) + len(scope) + se.Attributes().Len())
		e.set("trace.trace_id", event.String(traceID))
		e.set("trace.parent_id", event.String(spanID))
		e.set("name", str(se.Name()))
		e.set("parent_name", str(sp.Name()))
		e.set("meta.annotation_type", event.String("span_event"))
		e.set("meta.signal_type", event.String("trace"))
		since := int64(se.Timestamp()) - int64(sp.StartTimestamp())
		if since < 0 {
			e.set("meta.time_since_span_start_ms", event.Float(0))
			e.set("meta.invalid_time_since_span_start", event.Bool(true))
		} else {
			e.set("meta.time_since_span_start_ms", event.Float(float64(since)/float64(time.Millisecond)))
		}
		e.addAll(res)
		e.addAll(scope)
		addAttrs(e, "", se.Attributes(), 0)
		if isError {
			e.set("error", event.Bool(true))
		}
		if se.Name() == "exception" {
			for _, k := range exceptionFields {
				if v, ok := e.get(k); ok {
					f.setIfAbsent(k, v)
				}
			}
		}
		t.add(dataset, timestamp(se.Timestamp(), start), rate, e)
	}
	links := sp.Links()
	for i := range links.Len() {
		l := links.At(i)
		e := newFieldSet(8 + len(res) + len(scope) + l.Attributes().Len())
		e.set("trace.trace_id", event.String(traceID))
		e.set("trace.parent_id", event.String(spanID))
		e.set("trace.link.trace_id", event.String(traceIDString(l.TraceID())))
		e.set("trace.link.span_id", event.String(spanIDString(l.SpanID())))
		e.set("parent_name", str(sp.Name()))
		e.set("meta.annotation_type", event.String("link"))
		e.set("meta.signal_type", event.String("trace"))
		e.addAll(res)
		e.addAll(scope)
		addAttrs(e, "", l.Attributes(), 0)
		if isError {
			e.set("error", event.Bool(true))
		}
		t.add(dataset, start, rate, e)
	}
	t.add(dataset, start, rate, f)
}

// add appends an event unless it has too many fields, which rejects it.
func (t *translation) add(dataset string, ts time.Time, rate int64, f *fieldSet) {
	if len(f.list) > event.MaxFieldsPerEvent {
		t.reject(1, "event has too many columns")
		return
	}
	t.events = append(t.events, event.Event{Time: ts, Dataset: dataset, SampleRate: rate, Fields: f.fields()})
}

// timestamp converts an OTLP timestamp; zero means def.
func timestamp(ts pcommon.Timestamp, def time.Time) time.Time {
	if ts == 0 {
		return def
	}
	return time.Unix(0, int64(ts)).UTC()
}

func spanKind(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindClient:
		return "client"
	case ptrace.SpanKindServer:
		return "server"
	case ptrace.SpanKindProducer:
		return "producer"
	case ptrace.SpanKindConsumer:
		return "consumer"
	case ptrace.SpanKindInternal:
		return "internal"
	}
	return "unspecified"
}

// takeSampleRate removes the sampleRate (preferred) or SampleRate attribute
// and returns it as an event sample rate: strings are parsed, floats
// rounded, values ≤ 0 (or unparseable) mean 1. ok is false when neither
// attribute is present.
func takeSampleRate(f *fieldSet) (int64, bool) {
	key := "sampleRate"
	v, ok := f.get(key)
	if !ok {
		key = "SampleRate"
		if v, ok = f.get(key); !ok {
			return 1, false
		}
	}
	f.remove(key)
	var rate float64
	switch v.Type() {
	case event.TypeInt, event.TypeFloat:
		rate = v.Float()
	case event.TypeString:
		rate, _ = strconv.ParseFloat(strings.TrimSpace(v.Str()), 64)
	}
	return clampRate(rate), true
}

func clampRate(rate float64) int64 {
	if math.IsNaN(rate) || rate < 1 {
		return 1
	}
	if rate >= math.MaxInt32 {
		return math.MaxInt32
	}
	return int64(math.Round(rate))
}

// traceStateSampleRate reads OpenTelemetry's consistent-probability
// sampling threshold from a W3C tracestate ("ot=th:<hex>", or the older
// bare "th:<hex>" sub-key spelled "th=<hex>") and returns the adjusted count
// 2^56 / (2^56 - T), rounded to the nearest integer; 1 without one.
func traceStateSampleRate(ts string) int64 {
	if ts == "" {
		return 1
	}
	th := ""
	for _, member := range strings.Split(ts, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(member), "=")
		if !ok {
			continue
		}
		switch k {
		case "ot":
			for _, sub := range strings.Split(v, ";") {
				if h, ok := strings.CutPrefix(sub, "th:"); ok {
					th = h
				}
			}
		case "th":
			if th == "" {
				th = v
			}
		}
	}
	if th == "" || len(th) > 14 {
		return 1
	}
	padded := th + strings.Repeat("0", 14-len(th))
	t, err := strconv.ParseUint(padded, 16, 64)
	if err != nil {
		return 1
	}
	const max = 1 << 56
	if t >= max {
		return 1
	}
	return clampRate(float64(max) / float64(max-t))
}
