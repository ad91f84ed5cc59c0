package otlp

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/waggle-hq/waggle/internal/event"
)

// translateLogs maps OTLP log records to events as husky does (see doc.go).
func translateLogs(ld plog.Logs, ri requestInfo) translation {
	var t translation
	t.events = make([]event.Event, 0, ld.LogRecordCount())
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		res := resourceFields(rl.Resource().Attributes(), rl.SchemaUrl())
		dataset, ok := serviceDataset(res)
		if !ok {
			dataset = strings.TrimSpace(ri.dataset)
			if dataset == "" {
				dataset = unknownLogSource
			}
		}
		sls := rl.ScopeLogs()
		if !usableDataset(dataset) {
			n := 0
			for j := range sls.Len() {
				n += sls.At(j).LogRecords().Len()
			}
			t.reject(int64(n), "service.name is not a usable dataset name")
			continue
		}
		for j := range sls.Len() {
			sl := sls.At(j)
			scope := scopeFields(sl.Scope(), sl.SchemaUrl())
			recs := sl.LogRecords()
			for k := range recs.Len() {
				translateLog(&t, recs.At(k), dataset, res, scope, ri)
			}
		}
	}
	return t
}

func translateLog(t *translation, lr plog.LogRecord, dataset string, res, scope []event.Field, ri requestInfo) {
	f := newFieldSet(12 + len(res) + len(scope) + lr.Attributes().Len())
	sev := lr.SeverityNumber()
	f.set("severity", event.String(severity(sev)))
	f.set("severity_code", event.Int(int64(sev)))
	if s := lr.SeverityText(); s != "" {
		f.set("severity_text", str(s))
	}
	f.set("meta.signal_type", event.String("log"))
	f.set("flags", event.Int(int64(lr.Flags())))
	if !lr.TraceID().IsEmpty() {
		f.set("trace.trace_id", event.String(traceIDString(lr.TraceID())))
		f.set("meta.annotation_type", event.String("span_event"))
	}
	if !lr.SpanID().IsEmpty() {
		f.set("trace.parent_id", event.String(spanIDString(lr.SpanID())))
	}
	if n := lr.EventName(); n != "" {
		f.set("event.name", str(n))
	}
	switch body := lr.Body(); body.Type() {
	case pcommon.ValueTypeEmpty:
	case pcommon.ValueTypeStr:
		f.set("body", str(body.Str()))
	case pcommon.ValueTypeMap:
		addAttrs(f, "body", body.Map(), 1)
	default:
		f.set("body", jsonValue(body))
	}
	f.addAll(res)
	f.addAll(scope)
	addAttrs(f, "", lr.Attributes(), 0)
	rate, _ := takeSampleRate(f)
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	t.add(dataset, timestamp(ts, ri.now), rate, f)
}

// severity names a severity number's range as husky does.
func severity(n plog.SeverityNumber) string {
	switch {
	case n >= 1 && n <= 4:
		return "trace"
	case n >= 5 && n <= 8:
		return "debug"
	case n >= 9 && n <= 12:
		return "info"
	case n >= 13 && n <= 16:
		return "warn"
	case n >= 17 && n <= 20:
		return "error"
	case n >= 21 && n <= 24:
		return "fatal"
	}
	return "unspecified"
}
