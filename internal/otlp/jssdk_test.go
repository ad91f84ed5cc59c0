package otlp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/traceapi"
)

// jssdkDir holds the pinned OpenTelemetry JS SDK (package.json and
// package-lock.json) and the script that drives it.
const jssdkDir = "testdata/jssdk"

// installJSSDK runs npm ci unless node_modules is there already.
func installJSSDK(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(jssdkDir, "node_modules", "@opentelemetry", "exporter-trace-otlp-proto")); err == nil {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		tb.Fatalf("node is installed but npm is not: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = jssdkDir
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("npm ci in %s: %v\n%s", jssdkDir, err, out)
	}
}

// jsTrace is what trace.js reports.
type jsTrace struct {
	TraceID string `json:"traceId"`
	Spans   struct {
		Root, Child, Grandchild string
	} `json:"spans"`
	Results []int    `json:"results"`
	Errors  []string `json:"errors"`
}

// TestJSSDKTraces runs the OpenTelemetry JS SDK (sdk-trace-node with a
// BatchSpanProcessor) with each OTLP/HTTP trace exporter, http/json
// (exporter-trace-otlp-http) against the OTLP port and http/protobuf
// (exporter-trace-otlp-proto) against the main port, configured only
// through OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS and
// OTEL_SERVICE_NAME, and reads the trace back through the query API and the
// trace API.
func TestJSSDKTraces(t *testing.T) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the OpenTelemetry JS SDK test needs it")
	}
	installJSSDK(t)
	n := startNode(t)
	for _, c := range []struct{ exporter, endpoint, service string }{
		{"http", n.otlp, "checkout-js-json"},
		{"proto", n.base, "checkout-js-proto"},
	} {
		t.Run(c.exporter, func(t *testing.T) {
			base := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, nodeBin, "trace.js", c.exporter)
			cmd.Dir = jssdkDir
			cmd.Env = append(os.Environ(),
				// Exactly the seed app's configuration: nothing else.
				"OTEL_EXPORTER_OTLP_ENDPOINT="+c.endpoint,
				"OTEL_EXPORTER_OTLP_HEADERS=x-honeycomb-team="+nodeKey,
				"OTEL_SERVICE_NAME="+c.service,
				"BASE_TIME_MS="+strconv.FormatInt(base.UnixMilli(), 10),
			)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("node trace.js %s: %v\n%s", c.exporter, err, stderr.String())
			}
			var js jsTrace
			if err := json.Unmarshal(out, &js); err != nil {
				t.Fatalf("output %q: %v\n%s", out, err, stderr.String())
			}
			if stderr.Len() != 0 {
				t.Logf("node stderr: %s", stderr.String()) // the SDK's diagnostics (warnings and errors)
			}
			if len(js.Results) == 0 || len(js.Errors) != 0 {
				t.Fatalf("exporter results %v errors %v stderr %s", js.Results, js.Errors, stderr.String())
			}
			for _, r := range js.Results {
				if r != 0 { // ExportResultCode.SUCCESS
					t.Fatalf("exporter results %v", js.Results)
				}
			}
			checkJSTrace(t, n, c.service, base, &js)
		})
	}
}

// checkJSTrace checks counts, parent links, durations and field values of
// the trace trace.js sent, through the query API and the trace API.
func checkJSTrace(t *testing.T, n *node, service string, base time.Time, js *jsTrace) {
	t.Helper()
	ms := func(f float64) time.Time { return base.Add(time.Duration(f * float64(time.Millisecond))) }

	// Every event of the dataset, counted by name and annotation type.
	data := n.query(t, service, `{"calculations":[{"op":"COUNT"}],"breakdowns":["name","meta.annotation_type"],"time_range":7200}`)
	counts := map[string]float64{}
	for _, r := range results(t, data) {
		ann, _ := r.Data["meta.annotation_type"].(string)
		counts[fmt.Sprint(r.Data["name"], "/", ann)] = r.Data["COUNT"].(float64)
	}
	want := map[string]float64{
		"GET /checkout/": 1, "charge card/": 1, "SELECT cart/": 1,
		"exception/span_event": 1, "retry/span_event": 1,
	}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("counts by name/annotation = %v, want %v", counts, want)
	}

	// Raw spans through the query API.
	data = n.query(t, service, `{"filters":[{"column":"meta.annotation_type","op":"does-not-exist"}],"time_range":7200}`)
	evs := rawEvents(t, data)
	if len(evs) != 3 {
		t.Fatalf("%d raw spans, want 3", len(evs))
	}
	byName := map[string]rawEvent{}
	for _, e := range evs {
		byName[fmt.Sprint(e.Data["name"])] = e
	}
	common := map[string]any{
		"trace.trace_id": js.TraceID, "service.name": service, "meta.signal_type": "trace",
		"library.name": "waggle.test/jssdk", "library.version": "4.5.6",
		"telemetry.sdk.language": "nodejs", "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "2.12.0",
		"span.num_links": 0.0,
	}
	spans := []struct {
		name   string
		start  time.Time
		fields map[string]any
		absent []string
	}{
		{"GET /checkout", base, map[string]any{
			"trace.span_id": js.Spans.Root, "span.kind": "server", "type": "server",
			"duration_ms": 250.0, "status_code": 2.0, "status_message": "payment failed", "error": true,
			"span.num_events": 1.0,
			"http.route":      "/checkout", "http.status_code": 500.0, "cart.value": 12.75, "user.premium": true,
			"cart.items":     `["apple","pear"]`,
			"exception.type": "Error", "exception.message": "payment failed: card declined",
		}, []string{"trace.parent_id"}},
		{"charge card", ms(10), map[string]any{
			"trace.span_id": js.Spans.Child, "trace.parent_id": js.Spans.Root, "span.kind": "client", "type": "client",
			"duration_ms": 120.5, "status_code": 2.0, "status_message": "card declined", "error": true,
			"span.num_events": 1.0, "payment.provider": "mockpay", "attempt": 2.0,
		}, []string{"exception.message"}},
		{"SELECT cart", ms(20.25), map[string]any{
			"trace.span_id": js.Spans.Grandchild, "trace.parent_id": js.Spans.Child, "span.kind": "client",
			"duration_ms": 30.25, "status_code": 0.0, "span.num_events": 0.0,
			"db.system": "postgresql", "db.rows": 3.0,
		}, []string{"error", "status_message"}},
	}
	for _, s := range spans {
		e, ok := byName[s.name]
		if !ok {
			t.Errorf("span %q not stored", s.name)
			continue
		}
		for _, fields := range []map[string]any{common, s.fields} {
			for k, v := range fields {
				if fmt.Sprint(e.Data[k]) != fmt.Sprint(v) {
					t.Errorf("%s: %s = %v (%T), want %v", s.name, k, e.Data[k], e.Data[k], v)
				}
			}
		}
		for _, k := range s.absent {
			if _, ok := e.Data[k]; ok {
				t.Errorf("%s has %s = %v", s.name, k, e.Data[k])
			}
		}
		if !e.Time.Equal(s.start) {
			t.Errorf("%s starts at %v, want %v", s.name, e.Time, s.start)
		}
	}
	if st, _ := byName["GET /checkout"].Data["exception.stacktrace"].(string); !strings.Contains(st, "trace.js") {
		t.Errorf("root exception.stacktrace = %q", st)
	}
	// Duration aggregates over the trace through the engine.
	data = n.query(t, service, `{"calculations":[{"op":"MAX","column":"duration_ms"},{"op":"SUM","column":"duration_ms"},{"op":"COUNT"}],"filters":[{"column":"trace.trace_id","op":"=","value":"`+js.TraceID+`"},{"column":"duration_ms","op":"exists"}],"time_range":7200}`)
	if r := results(t, data); len(r) != 1 || r[0].Data["MAX(duration_ms)"] != 250.0 || r[0].Data["SUM(duration_ms)"] != 400.75 || r[0].Data["COUNT"] != 3.0 {
		t.Errorf("duration aggregates = %v", r)
	}

	// Trace API.
	status, tr := n.trace(t, js.TraceID)
	if status != 200 {
		t.Fatalf("trace %s: %d", js.TraceID, status)
	}
	if tr.TraceID != js.TraceID || tr.SpanCount != 3 || tr.ErrorCount != 2 || len(tr.Spans) != 3 {
		t.Fatalf("trace: id %s, %d spans, %d errors", tr.TraceID, tr.SpanCount, tr.ErrorCount)
	}
	if tr.DurationMs != 250 || !tr.Start.Equal(base) || fmt.Sprint(tr.Services) != "["+service+"]" ||
		fmt.Sprint(tr.RootSpanIDs) != "["+js.Spans.Root+"]" || len(tr.Logs) != 0 || len(tr.Events) != 0 {
		t.Errorf("trace summary: duration %v start %v services %v roots %v logs %v events %v",
			tr.DurationMs, tr.Start, tr.Services, tr.RootSpanIDs, tr.Logs, tr.Events)
	}
	byID := map[string]*traceapi.Span{}
	for _, s := range tr.Spans {
		byID[s.SpanID] = s
	}
	r, c, g := byID[js.Spans.Root], byID[js.Spans.Child], byID[js.Spans.Grandchild]
	if r == nil || c == nil || g == nil {
		t.Fatalf("spans %v", byID)
	}
	if r.ParentID != "" || c.ParentID != js.Spans.Root || g.ParentID != js.Spans.Child {
		t.Errorf("parents: root %q child %q grandchild %q", r.ParentID, c.ParentID, g.ParentID)
	}
	if r.DurationMs != 250 || c.DurationMs != 120.5 || g.DurationMs != 30.25 {
		t.Errorf("durations: %v %v %v", r.DurationMs, c.DurationMs, g.DurationMs)
	}
	if !r.Error || !c.Error || g.Error || r.Service != service || r.Dataset != service {
		t.Errorf("root %+v child %+v grandchild %+v", r, c, g)
	}
	if tr.Spans[0] != r || tr.Spans[1] != c || tr.Spans[2] != g {
		t.Errorf("spans not ordered by start: %s %s %s", tr.Spans[0].Name, tr.Spans[1].Name, tr.Spans[2].Name)
	}
	if len(r.Events) != 1 || r.Events[0].Name != "exception" || !r.Events[0].Time.Equal(ms(200)) ||
		r.Events[0].Fields["exception.message"] != "payment failed: card declined" ||
		r.Events[0].Fields["meta.time_since_span_start_ms"] != 200.0 {
		t.Errorf("root events %+v", r.Events)
	}
	if len(c.Events) != 1 || c.Events[0].Name != "retry" || !c.Events[0].Time.Equal(ms(60)) ||
		c.Events[0].Fields["retry.reason"] != "timeout" || c.Events[0].Fields["retry.delay_ms"] != 50.0 ||
		c.Events[0].Fields["meta.time_since_span_start_ms"] != 50.0 || c.Events[0].Fields["error"] != true {
		t.Errorf("child events %+v", c.Events)
	}
	if len(g.Events) != 0 || len(r.Links)+len(c.Links)+len(g.Links) != 0 {
		t.Errorf("grandchild events %v, links %v %v %v", g.Events, r.Links, c.Links, g.Links)
	}

	// Trace search finds it by service, duration and error.
	status, _, b := n.do(t, "GET", "/api/v1/traces?service="+url.QueryEscape(service)+"&min_duration_ms=200&error=true&time_range=7200", "application/json", "")
	var sr traceapi.SearchResult
	if err := json.Unmarshal(b, &sr); status != 200 || err != nil || len(sr.Traces) != 1 {
		t.Fatalf("search: %d %s", status, b)
	}
	if s := sr.Traces[0]; s.TraceID != js.TraceID || s.RootName != "GET /checkout" || s.DurationMs != 250 ||
		s.SpanCount != 3 || s.ErrorCount != 2 || !s.Start.Equal(base) {
		t.Errorf("search summary %+v", s)
	}
}
