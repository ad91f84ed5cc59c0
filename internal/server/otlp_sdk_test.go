package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	metricapi "go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/waggle-hq/waggle/internal/config"
	"github.com/waggle-hq/waggle/internal/traceapi"
)

// These tests run the OpenTelemetry Go SDK's own exporters, configured only
// through the standard OTEL_* environment variables (as the seed app is),
// against a node started in-process on loopback, and read the data back
// through the Honeycomb query API and the trace API.

const sdkKey = "otel-sdk-test-key-0123456789"

type sdkNode struct {
	srv  *Server
	base string
}

func startSDKNode(t *testing.T) *sdkNode {
	t.Helper()
	cfg := &config.Config{
		DataDir:      t.TempDir(),
		HTTPAddr:     "127.0.0.1:0",
		OTLPHTTPAddr: "127.0.0.1:0",
		OTLPGRPCAddr: "127.0.0.1:0",
		MemoryLimit:  256 << 20,
		APIKey:       sdkKey,
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &sdkNode{srv: srv, base: "http://" + srv.HTTPAddr()}
}

// setOTelEnv configures the SDK exactly as the seed app does: endpoint,
// headers and service name, nothing else.
func setOTelEnv(t *testing.T, endpoint, service string) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team="+sdkKey)
	t.Setenv("OTEL_SERVICE_NAME", service)
}

// envResource is the SDK's resource from the environment (OTEL_SERVICE_NAME);
// resource.Default() caches the first one it sees, so each test builds its
// own.
func envResource(t *testing.T) *resource.Resource {
	t.Helper()
	r, err := resource.New(context.Background(), resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (n *sdkNode) do(t *testing.T, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = n.base + path
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Honeycomb-Team", sdkKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// query runs a spec through /1/queries and /1/query_results and returns the
// result's data.
func (n *sdkNode) query(t *testing.T, dataset, spec string) map[string]json.RawMessage {
	t.Helper()
	status, _, b := n.do(t, "POST", "/1/queries/"+url.PathEscape(dataset), spec)
	if status != 200 {
		t.Fatalf("create query %s: %d %s", spec, status, b)
	}
	var q struct{ ID string }
	_ = json.Unmarshal(b, &q)
	status, hdr, b := n.do(t, "POST", "/1/query_results/"+url.PathEscape(dataset), `{"query_id":"`+q.ID+`","disable_series":true}`)
	if status != 201 {
		t.Fatalf("run query: %d %s", status, b)
	}
	status, _, b = n.do(t, "GET", hdr.Get("Location"), "")
	if status != 200 {
		t.Fatalf("read result: %d %s", status, b)
	}
	var res struct {
		Complete bool                       `json:"complete"`
		Data     map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &res); err != nil || !res.Complete {
		t.Fatalf("result %s: %v", b, err)
	}
	return res.Data
}

type row struct {
	Data map[string]any `json:"data"`
}

func results(t *testing.T, data map[string]json.RawMessage) []row {
	t.Helper()
	var rows []row
	if err := json.Unmarshal(data["results"], &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

type rawEvent struct {
	Time time.Time      `json:"time"`
	Data map[string]any `json:"data"`
}

func rawEvents(t *testing.T, data map[string]json.RawMessage) []rawEvent {
	t.Helper()
	var evs []rawEvent
	if err := json.Unmarshal(data["events"], &evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

func (n *sdkNode) trace(t *testing.T, id string) *traceapi.Trace {
	t.Helper()
	status, _, b := n.do(t, "GET", "/api/v1/traces/"+id, "")
	if status != 200 {
		t.Fatalf("trace %s: %d %s", id, status, b)
	}
	var tr traceapi.Trace
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	return &tr
}

var base = time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)

// emitTrace produces one trace with nested spans, span events, a link, an
// exception and attributes of every type, with explicit timestamps so that
// durations are exact. It returns the trace id, the root's span id and the
// linked span's context.
func emitTrace(t *testing.T, tp trace.TracerProvider) (traceID, rootID, childID string, linked trace.SpanContext) {
	t.Helper()
	ctx := context.Background()
	tr := tp.Tracer("waggle.test/sdk", trace.WithInstrumentationVersion("1.2.3"))
	_, other := tr.Start(ctx, "background job", trace.WithTimestamp(base))
	other.End(trace.WithTimestamp(base.Add(time.Millisecond)))
	linked = other.SpanContext()

	ctx, root := tr.Start(ctx, "GET /checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(base),
		trace.WithAttributes(
			attribute.String("http.route", "/checkout"),
			attribute.Int("http.status_code", 500),
			attribute.Float64("cart.value", 12.75),
			attribute.Bool("user.premium", true),
			attribute.StringSlice("cart.items", []string{"apple", "pear"}),
			attribute.Int64Slice("cart.qty", []int64{1, 2}),
			attribute.Float64Slice("cart.prices", []float64{1.5, 2.25}),
			attribute.BoolSlice("cart.flags", []bool{true, false}),
		))
	_, child := tr.Start(ctx, "SELECT cart", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(base.Add(2*time.Millisecond)),
		trace.WithLinks(trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.String("link.reason", "caused-by")}}),
		trace.WithAttributes(attribute.String("db.system", "postgresql")))
	child.AddEvent("cache.miss", trace.WithTimestamp(base.Add(3*time.Millisecond)), trace.WithAttributes(attribute.String("cache.key", "cart:42")))
	child.End(trace.WithTimestamp(base.Add(7 * time.Millisecond)))
	root.RecordError(errors.New("card declined"), trace.WithTimestamp(base.Add(8*time.Millisecond)))
	root.SetStatus(codes.Error, "payment failed")
	root.End(trace.WithTimestamp(base.Add(20 * time.Millisecond)))
	return root.SpanContext().TraceID().String(), root.SpanContext().SpanID().String(), child.SpanContext().SpanID().String(), linked
}

// checkTrace reads the trace back through both APIs and checks counts,
// parent links, durations and field values.
func checkTrace(t *testing.T, n *sdkNode, service, traceID, rootID, childID string, linked trace.SpanContext) {
	t.Helper()
	// Honeycomb query API: COUNT by name and annotation type.
	data := n.query(t, service, `{"calculations":[{"op":"COUNT"}],"breakdowns":["name","meta.annotation_type"],"time_range":7200}`)
	counts := map[string]float64{}
	for _, r := range results(t, data) {
		ann, _ := r.Data["meta.annotation_type"].(string)
		counts[fmt.Sprint(r.Data["name"], "/", ann)] = r.Data["COUNT"].(float64)
	}
	want := map[string]float64{
		"GET /checkout/": 1, "SELECT cart/": 1, "background job/": 1,
		"cache.miss/span_event": 1, "exception/span_event": 1, "<nil>/link": 1,
	}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("counts by name/annotation = %v, want %v", counts, want)
	}
	// Raw root span through the query API: types of every attribute.
	data = n.query(t, service, `{"filters":[{"column":"name","op":"=","value":"GET /checkout"}],"time_range":7200}`)
	evs := rawEvents(t, data)
	if len(evs) != 1 {
		t.Fatalf("%d raw root events, want 1", len(evs))
	}
	root := evs[0].Data
	wantFields := map[string]any{
		"trace.trace_id": traceID, "trace.span_id": rootID, "name": "GET /checkout",
		"service.name": service, "span.kind": "server", "type": "server",
		"duration_ms": 20.0, "status_code": 2.0, "status_message": "payment failed", "error": true,
		"span.num_events": 1.0, "span.num_links": 0.0, "meta.signal_type": "trace",
		"http.route": "/checkout", "http.status_code": 500.0, "cart.value": 12.75, "user.premium": true,
		"cart.items": `["apple","pear"]`, "cart.qty": `[1,2]`, "cart.prices": `[1.5,2.25]`, "cart.flags": `[true,false]`,
		"exception.type": "*errors.errorString", "exception.message": "card declined",
		"library.name": "waggle.test/sdk", "library.version": "1.2.3",
	}
	for k, v := range wantFields {
		if fmt.Sprint(root[k]) != fmt.Sprint(v) {
			t.Errorf("root %s = %v (%T), want %v", k, root[k], root[k], v)
		}
	}
	if _, ok := root["trace.parent_id"]; ok {
		t.Error("root span has trace.parent_id")
	}
	if !evs[0].Time.Equal(base) {
		t.Errorf("root time %v, want %v", evs[0].Time, base)
	}
	// P95/AVG over duration_ms chart through the engine.
	data = n.query(t, service, `{"calculations":[{"op":"MAX","column":"duration_ms"}],"filters":[{"column":"trace.trace_id","op":"=","value":"`+traceID+`"}],"time_range":7200}`)
	if r := results(t, data); len(r) != 1 || r[0].Data["MAX(duration_ms)"] != 20.0 {
		t.Errorf("MAX(duration_ms) = %v", r)
	}

	// Trace API: upper-case id is normalised.
	tr := n.trace(t, strings.ToUpper(traceID))
	if tr.TraceID != traceID || tr.SpanCount != 2 || tr.ErrorCount != 1 || len(tr.Spans) != 2 {
		t.Fatalf("trace: id %s, %d spans, %d errors", tr.TraceID, tr.SpanCount, tr.ErrorCount)
	}
	if tr.DurationMs != 20 || !tr.Start.Equal(base) || fmt.Sprint(tr.Services) != "["+service+"]" || fmt.Sprint(tr.RootSpanIDs) != "["+rootID+"]" {
		t.Errorf("trace summary: duration %v start %v services %v roots %v", tr.DurationMs, tr.Start, tr.Services, tr.RootSpanIDs)
	}
	spans := map[string]*traceapi.Span{}
	for _, s := range tr.Spans {
		spans[s.SpanID] = s
	}
	r, c := spans[rootID], spans[childID]
	if r == nil || c == nil {
		t.Fatalf("spans %v", spans)
	}
	if r.ParentID != "" || c.ParentID != rootID || c.DurationMs != 5 || r.DurationMs != 20 || !r.Error || c.Error {
		t.Errorf("root %+v child %+v", r, c)
	}
	if len(r.Events) != 1 || r.Events[0].Name != "exception" || r.Events[0].Fields["exception.message"] != "card declined" ||
		r.Events[0].Fields["meta.time_since_span_start_ms"] != 8.0 {
		t.Errorf("root events %+v", r.Events)
	}
	if len(c.Events) != 1 || c.Events[0].Name != "cache.miss" || c.Events[0].Fields["cache.key"] != "cart:42" {
		t.Errorf("child events %+v", c.Events)
	}
	if len(c.Links) != 1 || c.Links[0].TraceID != linked.TraceID().String() || c.Links[0].SpanID != linked.SpanID().String() ||
		c.Links[0].Fields["link.reason"] != "caused-by" {
		t.Errorf("child links %+v", c.Links)
	}
	if len(tr.Logs) != 0 || len(tr.Events) != 0 {
		t.Errorf("logs %v events %v", tr.Logs, tr.Events)
	}

	// Trace search: the root is found by service, name, duration, error and
	// a where filter; the linked job's trace is not an error trace.
	status, _, b := n.do(t, "GET", "/api/v1/traces?service="+url.QueryEscape(service)+
		"&min_duration_ms=10&error=true&where="+url.QueryEscape("http.status_code >= 500")+"&time_range=7200", "")
	if status != 200 {
		t.Fatalf("search: %d %s", status, b)
	}
	var sr traceapi.SearchResult
	_ = json.Unmarshal(b, &sr)
	if len(sr.Traces) != 1 {
		t.Fatalf("search found %d traces: %s", len(sr.Traces), b)
	}
	s := sr.Traces[0]
	if s.TraceID != traceID || s.RootService != service || s.RootName != "GET /checkout" || s.DurationMs != 20 ||
		s.SpanCount != 2 || s.ErrorCount != 1 || !s.Start.Equal(base) || fmt.Sprint(s.Services) != "["+service+"]" {
		t.Errorf("summary %+v", s)
	}
	status, _, b = n.do(t, "GET", "/api/v1/traces?time_range=7200&error=false", "")
	_ = json.Unmarshal(b, &sr)
	if status != 200 || len(sr.Traces) != 1 || sr.Traces[0].RootName != "background job" || sr.Traces[0].SpanCount != 1 {
		t.Errorf("search error=false: %d %s", status, b)
	}
}

func TestSDKTracesHTTP(t *testing.T) {
	n := startSDKNode(t)
	// OTLP's own port, as the seed's OTEL_EXPORTER_OTLP_ENDPOINT would be.
	setOTelEnv(t, "http://"+n.srv.OTLPHTTPAddr(), "checkout-http")
	exp, err := otlptracehttp.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(envResource(t)))
	traceID, rootID, childID, linked := emitTrace(t, tp)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatalf("export: %v", err)
	}
	checkTrace(t, n, "checkout-http", traceID, rootID, childID, linked)
}

func TestSDKTracesHTTPMainPort(t *testing.T) {
	n := startSDKNode(t)
	// The main HTTP port serves /v1/traces too (one port for everything).
	setOTelEnv(t, n.base, "checkout-main")
	exp, err := otlptracehttp.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(envResource(t)))
	traceID, rootID, childID, linked := emitTrace(t, tp)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatalf("export: %v", err)
	}
	checkTrace(t, n, "checkout-main", traceID, rootID, childID, linked)
}

func TestSDKTracesGRPC(t *testing.T) {
	n := startSDKNode(t)
	setOTelEnv(t, "http://"+n.srv.OTLPGRPCAddr(), "checkout-grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	exp, err := otlptracegrpc.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(envResource(t)))
	traceID, rootID, childID, linked := emitTrace(t, tp)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatalf("export: %v", err)
	}
	checkTrace(t, n, "checkout-grpc", traceID, rootID, childID, linked)
}

func TestSDKLogsHTTP(t *testing.T) {
	n := startSDKNode(t)
	setOTelEnv(t, "http://"+n.srv.OTLPHTTPAddr(), "checkout-logs")
	ctx := context.Background()
	exp, err := otlploghttp.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)), sdklog.WithResource(envResource(t)))
	// A span context, so the log joins its trace.
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(envResource(t)))
	sctx, span := tp.Tracer("t").Start(ctx, "op", trace.WithTimestamp(base))
	span.End(trace.WithTimestamp(base.Add(time.Millisecond)))
	logger := lp.Logger("waggle.test/logs")
	for i := range 3 {
		var r otellog.Record
		r.SetTimestamp(base.Add(time.Duration(i) * time.Second))
		r.SetSeverity(otellog.SeverityError)
		r.SetSeverityText("ERROR")
		r.SetBody(attribute.StringValue(fmt.Sprintf("payment %d failed", i)))
		r.AddAttributes(attribute.Int("attempt", i), attribute.Bool("retry", i < 2), attribute.Float64("amount", 9.5))
		logger.Emit(sctx, r)
	}
	var kv otellog.Record
	kv.SetTimestamp(base.Add(5 * time.Second))
	kv.SetSeverity(otellog.SeverityInfo)
	kv.SetBody(attribute.MapValue(attribute.String("msg", "hello"), attribute.Int("n", 3)))
	logger.Emit(ctx, kv)
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}
	data := n.query(t, "checkout-logs", `{"calculations":[{"op":"COUNT"}],"breakdowns":["severity"],"time_range":7200}`)
	got := map[string]float64{}
	for _, r := range results(t, data) {
		got[fmt.Sprint(r.Data["severity"])] = r.Data["COUNT"].(float64)
	}
	if fmt.Sprint(got) != "map[error:3 info:1]" {
		t.Errorf("logs by severity %v", got)
	}
	data = n.query(t, "checkout-logs", `{"filters":[{"column":"attempt","op":"=","value":1}],"time_range":7200}`)
	evs := rawEvents(t, data)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	d := evs[0].Data
	for k, v := range map[string]any{
		"body": "payment 1 failed", "severity_code": 17.0, "severity_text": "ERROR", "meta.signal_type": "log",
		"retry": true, "amount": 9.5, "trace.trace_id": span.SpanContext().TraceID().String(),
		"trace.parent_id": span.SpanContext().SpanID().String(), "library.name": "waggle.test/logs",
	} {
		if fmt.Sprint(d[k]) != fmt.Sprint(v) {
			t.Errorf("log %s = %v, want %v", k, d[k], v)
		}
	}
	if !evs[0].Time.Equal(base.Add(time.Second)) {
		t.Errorf("log time %v", evs[0].Time)
	}
	data = n.query(t, "checkout-logs", `{"filters":[{"column":"body.msg","op":"=","value":"hello"}],"time_range":7200}`)
	if evs := rawEvents(t, data); len(evs) != 1 || evs[0].Data["body.n"] != 3.0 {
		t.Errorf("kvlist body: %v", evs)
	}
	// The trace API returns the logs of the trace in "logs".
	status, _, b := n.do(t, "GET", "/api/v1/traces/"+span.SpanContext().TraceID().String(), "")
	var tr traceapi.Trace
	_ = json.Unmarshal(b, &tr)
	if status != 200 || len(tr.Logs) != 3 || len(tr.Spans) != 0 {
		t.Errorf("trace with logs: %d, %d logs, %d spans: %s", status, len(tr.Logs), len(tr.Spans), b)
	}
}

func TestSDKMetricsHTTP(t *testing.T) {
	n := startSDKNode(t)
	setOTelEnv(t, "http://"+n.srv.OTLPHTTPAddr(), "checkout-metrics")
	ctx := context.Background()
	exp, err := otlpmetrichttp.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(envResource(t)))
	m := mp.Meter("waggle.test/metrics")
	counter, _ := m.Int64Counter("orders", otelmetricUnit("1"))
	hist, _ := m.Float64Histogram("latency", otelHistUnit("ms"))
	gauge, _ := m.Int64Gauge("queue.depth")
	counter.Add(ctx, 3)
	counter.Add(ctx, 4)
	for _, v := range []float64{1, 7, 30, 400} {
		hist.Record(ctx, v)
	}
	gauge.Record(ctx, 12)
	if err := mp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}
	// No x-honeycomb-dataset header: unknown_metrics, as Honeycomb does.
	data := n.query(t, "unknown_metrics", `{"calculations":[{"op":"COUNT"}],"breakdowns":["metric.name","metric.type"],"time_range":7200}`)
	got := map[string]float64{}
	for _, r := range results(t, data) {
		got[fmt.Sprint(r.Data["metric.name"], "/", r.Data["metric.type"])] = r.Data["COUNT"].(float64)
	}
	if fmt.Sprint(got) != "map[latency/histogram:1 orders/sum:1 queue.depth/gauge:1]" {
		t.Errorf("data points %v", got)
	}
	data = n.query(t, "unknown_metrics", `{"calculations":[{"op":"MAX","column":"orders"},{"op":"MAX","column":"queue.depth"},{"op":"MAX","column":"latency.count"},{"op":"MAX","column":"latency.sum"},{"op":"MAX","column":"latency.le.10"}],"time_range":7200}`)
	r := results(t, data)
	if len(r) != 1 {
		t.Fatalf("results %v", r)
	}
	for k, v := range map[string]float64{"MAX(orders)": 7, "MAX(queue.depth)": 12, "MAX(latency.count)": 4, "MAX(latency.sum)": 438, "MAX(latency.le.10)": 2} {
		if r[0].Data[k] != v {
			t.Errorf("%s = %v, want %v", k, r[0].Data[k], v)
		}
	}
}

// TestOTLPHTTPErrors checks the whole-request answers clients see.
func TestOTLPHTTPErrors(t *testing.T) {
	n := startSDKNode(t)
	post := func(path, ct, key string, body []byte) (int, string, string) {
		req, _ := http.NewRequest("POST", "http://"+n.srv.OTLPHTTPAddr()+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if key != "" {
			req.Header.Set("x-honeycomb-team", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for _, c := range []struct {
		name, path, ct, key, body string
		status                    int
		contains                  string
	}{
		{"content type", "/v1/traces", "text/plain", sdkKey, "{}", 415, "unsupported content-type, valid types are: application/protobuf, application/x-protobuf, application/json"},
		{"missing key", "/v1/traces", "application/json", "", "{}", 401, "missing 'x-honeycomb-team' header"},
		{"unknown key", "/v1/logs", "application/json", "nope-nope-nope", "{}", 401, "unknown API key"},
		{"malformed json", "/v1/metrics", "application/json", sdkKey, "{", 400, "failed to parse OTLP request body"},
		{"bad trace id", "/v1/traces", "application/json", sdkKey, `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc","spanId":"0102030405060708"}]}]}]}`, 400, "failed to parse OTLP request body"},
		{"empty", "/v1/traces/", "application/json", sdkKey, "", 400, "empty"},
		{"ok empty request", "/v1/traces/", "application/json", sdkKey, "{}", 200, "{}"},
		{"partial", "/v1/traces", "application/json", sdkKey, `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000000","spanId":"0102030405060708"}]}]}]}`, 200, `"rejectedSpans":"1"`},
	} {
		status, _, body := post(c.path, c.ct, c.key, []byte(c.body))
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s: %d %q, want %d containing %q", c.name, status, body, c.status, c.contains)
		}
	}
	// Oversized: 413 before reading everything.
	big := bytes.Repeat([]byte("x"), 21<<20)
	if status, _, _ := post("/v1/traces", "application/x-protobuf", sdkKey, big); status != 413 {
		t.Errorf("oversized: %d", status)
	}
	// Invalid ids in the trace API.
	for _, id := range []string{"abc", strings.Repeat("a", 31), strings.Repeat("g", 32)} {
		if status, _, _ := n.do(t, "GET", "/api/v1/traces/"+id, ""); status != 400 {
			t.Errorf("trace id %q: %d", id, status)
		}
	}
	if status, _, _ := n.do(t, "GET", "/api/v1/traces/"+strings.Repeat("a", 32), ""); status != 404 {
		t.Errorf("missing trace: %d", status)
	}
	sort.Strings(nil)
}

func otelmetricUnit(u string) metricapi.Int64CounterOption   { return metricapi.WithUnit(u) }
func otelHistUnit(u string) metricapi.Float64HistogramOption { return metricapi.WithUnit(u) }
