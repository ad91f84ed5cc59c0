package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/waggle-hq/waggle/internal/event"
)

// OTLP span shape: every span carries otlpSpanAttrs attributes and its
// resource otlpResourceAttrs (service.name among them), so that each span
// becomes an event of about 30 columns in its service's dataset.
const (
	otlpSpanAttrs     = 15
	otlpResourceAttrs = 5
)

// otlpBodies pre-encodes n OTLP/HTTP protobuf ExportTraceServiceRequest
// bodies of batch spans each from the generator: one ResourceSpans per
// service (5 resource attributes: service.name, host.name, k8s.pod.name,
// cloud.region, deployment.environment), one scope, spans with the
// generator's 32-hex trace ids, 16-hex span and parent ids, name, kind,
// status and 15 attributes. enc is "none" or "gzip". It also returns the
// mean protobuf size before compression.
func otlpBodies(g *generator, n, batch int, enc string) (bodies [][]byte, rawMean float64, err error) {
	var rawTotal int64
	evs := make([]event.Event, batch)
	for i := 0; i < n; i++ {
		for j := range evs {
			evs[j] = g.next("")
		}
		raw, err := otlpRequest(evs, i)
		if err != nil {
			return nil, 0, err
		}
		rawTotal += int64(len(raw))
		if enc == "gzip" {
			var b bytes.Buffer
			w, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
			if _, err := w.Write(raw); err != nil {
				return nil, 0, err
			}
			if err := w.Close(); err != nil {
				return nil, 0, err
			}
			raw = b.Bytes()
		}
		bodies = append(bodies, raw)
	}
	return bodies, float64(rawTotal) / float64(n), nil
}

// otlpRequest encodes events of the generator as one ExportTraceServiceRequest.
func otlpRequest(evs []event.Event, seq int) ([]byte, error) {
	td := ptrace.NewTraces()
	scopes := map[string]ptrace.SpanSlice{}
	str := func(e *event.Event, k string) string { v, _ := e.Get(k); return v.Str() }
	num := func(e *event.Event, k string) int64 { v, _ := e.Get(k); return v.Int() }
	for i := range evs {
		e := &evs[i]
		svc := str(e, colService)
		spans, ok := scopes[svc]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			ra := rs.Resource().Attributes()
			ra.PutStr("service.name", svc)
			ra.PutStr("host.name", str(e, "host.name"))
			ra.PutStr("k8s.pod.name", str(e, "k8s.pod.name"))
			ra.PutStr("cloud.region", str(e, "cloud.region"))
			ra.PutStr("deployment.environment", "production")
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
			ss.Scope().SetVersion("0.60.0")
			spans = ss.Spans()
			scopes[svc] = spans
		}
		sp := spans.AppendEmpty()
		var tid pcommon.TraceID
		var sid, pid pcommon.SpanID
		if _, err := hex.Decode(tid[:], []byte(str(e, colTrace))); err != nil {
			return nil, fmt.Errorf("trace id: %w", err)
		}
		if _, err := hex.Decode(sid[:], []byte(str(e, "trace.span_id"))); err != nil {
			return nil, fmt.Errorf("span id: %w", err)
		}
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		if p := str(e, "trace.parent_id"); p != "" {
			if _, err := hex.Decode(pid[:], []byte(p)); err != nil {
				return nil, fmt.Errorf("parent id: %w", err)
			}
			sp.SetParentSpanID(pid)
		}
		sp.SetName(str(e, colName))
		switch str(e, "span.kind") {
		case "server":
			sp.SetKind(ptrace.SpanKindServer)
		case "client":
			sp.SetKind(ptrace.SpanKindClient)
		default:
			sp.SetKind(ptrace.SpanKindInternal)
		}
		dv, _ := e.Get(colDuration)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(e.Time))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(e.Time.Add(time.Duration(dv.Float() * float64(time.Millisecond)))))
		status := num(e, colStatus)
		if status >= 500 {
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage("internal server error")
		}
		a := sp.Attributes()
		a.EnsureCapacity(otlpSpanAttrs)
		a.PutStr("http.request.method", str(e, "http.method"))
		a.PutStr("http.route", str(e, "http.route"))
		a.PutInt("http.response.status_code", status)
		a.PutStr("user_agent.original", str(e, "http.user_agent"))
		a.PutInt("http.request.body.size", num(e, "http.request_content_length"))
		a.PutInt("http.response.body.size", num(e, "http.response_content_length"))
		a.PutStr("user.id", str(e, colUser))
		a.PutInt("server.port", 8080)
		a.PutInt("client.port", num(e, "net.peer.port"))
		a.PutStr("url.scheme", "https")
		a.PutStr("network.protocol.version", "1.1")
		a.PutStr("client.address", "10.0."+strconv.Itoa(int(num(e, "net.peer.port")%250))+"."+strconv.Itoa(i%250))
		a.PutStr("app.request_id", str(e, "trace.span_id")+strconv.Itoa(seq))
		a.PutInt("app.cart_items", num(e, "span.num_events")*3+1)
		a.PutBool("app.cache_hit", num(e, "http.request_content_length")%3 == 0)
	}
	return ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
}

// otlpAcked reads an ExportTraceServiceResponse: spans sent minus those it
// reports rejected.
func otlpAcked(body []byte, sent int64) (int64, error) {
	resp := ptraceotlp.NewExportResponse()
	if err := resp.UnmarshalProto(body); err != nil {
		return 0, fmt.Errorf("decode ExportTraceServiceResponse: %w", err)
	}
	if r := resp.PartialSuccess().RejectedSpans(); r > 0 {
		return sent - r, fmt.Errorf("%d of %d spans rejected: %s", r, sent, resp.PartialSuccess().ErrorMessage())
	}
	return sent, nil
}
