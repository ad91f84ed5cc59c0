package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// TestFlaskGuide runs examples/flask/app.py, the combined week-2 app listed
// in docs/guides/flask.md (checked byte for byte against the guide here),
// under /usr/bin/python3 against one waggle, configured as the guide says:
// OTEL_EXPORTER_OTLP_ENDPOINT/_HEADERS, AWS_XRAY_DAEMON_ADDRESS, a boto3
// logs client with endpoint_url, rollbar.init(endpoint=…/api/1/).
//
// Real: Flask (python3-flask 2.2), the X-Ray SDK (python3-aws-xray-sdk 0.95:
// XRayMiddleware, dynamic naming, a subsegment with an annotation) and boto3
// (python3-boto3). STAND-INS (examples/flask/standins, on PYTHONPATH: Debian
// packages neither opentelemetry-python, pyrollbar nor watchtower): modules
// with the names app.py imports that send what the real ones send (OTLP/HTTP
// JSON to /v1/traces with x-honeycomb-team; a pyrollbar-shaped item POST to
// /api/1/item/; watchtower's boto3 call sequence).
//
// It drives the app (home, a raising route, /rollbar/test), then reads back
// the OTel spans and X-Ray segments of one trace through the trace API, the
// Rollbar items through /api/1/items, and the log lines (sent by the handler
// at exit, as watchtower does) through the CloudWatch Logs API.
func TestFlaskGuide(t *testing.T) {
	if err := exec.Command(debianPython, "-c", "import flask, aws_xray_sdk, boto3").Run(); err != nil {
		t.Skipf("%s with python3-flask, python3-aws-xray-sdk, python3-boto3: %v", debianPython, err)
	}
	dir, err := filepath.Abs("../../examples/flask")
	if err != nil {
		t.Fatal(err)
	}
	app, err := os.ReadFile(filepath.Join(dir, "app.py"))
	if err != nil {
		t.Fatal(err)
	}
	guide, err := os.ReadFile("../../docs/guides/flask.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(guide), "```py\n"+string(app)+"```\n") {
		t.Fatal("docs/guides/flask.md does not list examples/flask/app.py verbatim: copy the file into the guide's app.py block")
	}

	srv := startXRayNode(t)
	base := "http://" + srv.HTTPAddr()
	port := freePort(t)
	var out syncBuf
	cmd := exec.Command(debianPython, filepath.Join(dir, "app.py"))
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + cmd.Dir, "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1",
		"PYTHONPATH=" + filepath.Join(dir, "standins"), // the stand-ins, see above
		"HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port),
		// Honeycomb → waggle
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + base,
		"OTEL_EXPORTER_OTLP_HEADERS=x-honeycomb-team=" + sdkKey,
		"OTEL_SERVICE_NAME=backend-flask",
		"OTEL_BSP_SCHEDULE_DELAY=200",
		// X-Ray → waggle
		"AWS_XRAY_DAEMON_ADDRESS=" + srv.XRayAddr(),
		"AWS_XRAY_URL=*4567-myws.gitpod.io*",
		// CloudWatch Logs → waggle
		"WAGGLE_URL=" + base,
		"AWS_ACCESS_KEY_ID=" + xrayKeyID, "AWS_SECRET_ACCESS_KEY=" + xraySecret, "AWS_DEFAULT_REGION=us-east-1",
		// Rollbar → waggle
		"ROLLBAR_ACCESS_TOKEN=" + sdkKey,
		"ROLLBAR_ENDPOINT=" + base + "/api/1/",
	}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
	})
	appURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flask did not start: %s", out.String())
		}
	}

	// Each request carries one trace id in both formats, as a caller
	// instrumented with OTel and X-Ray propagation would: the OTel spans and
	// the X-Ray segments form one trace.
	now := time.Now()
	ids := map[string]string{}
	get := func(name, path string, want int) string {
		t.Helper()
		hex := fmt.Sprintf("%08x%024x", now.Unix(), len(ids)+1)
		ids[name] = hex
		r, _ := http.NewRequest("GET", appURL+path, nil)
		r.Header.Set("traceparent", "00-"+hex+"-00f067aa0ba902b7-01")
		r.Header.Set("X-Amzn-Trace-Id", "Root=1-"+hex[:8]+"-"+hex[8:]+";Parent=00f067aa0ba902b7;Sampled=1")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s: %d %s\n%s", path, resp.StatusCode, b, out.String())
		}
		return string(b)
	}
	if body := get("home", "/api/activities/home", 200); !strings.Contains(body, "Cloud is fun!") {
		t.Fatalf("home: %s", body)
	}
	get("boom", "/api/boom", 500)
	if body := get("rollbar", "/rollbar/test", 200); body != "Hello World!" {
		t.Fatalf("rollbar/test: %s", body)
	}

	// Trace API: OTel spans (dataset backend-flask) and X-Ray segments
	// (dataset Cruddur) in one trace.
	type span struct {
		Name, Service string
		Error         bool
		Fields        map[string]any
	}
	traceOf := func(hex string, want int) []span {
		t.Helper()
		var tr struct {
			SpanCount int    `json:"span_count"`
			Spans     []span `json:"spans"`
		}
		var b []byte
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			r, _ := http.NewRequest("GET", base+"/api/v1/traces/"+hex, nil)
			r.Header.Set("X-Honeycomb-Team", sdkKey)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			tr.SpanCount = 0
			_ = json.Unmarshal(b, &tr)
			if tr.SpanCount >= want || time.Now().After(deadline) {
				break
			}
		}
		if tr.SpanCount != want {
			t.Fatalf("trace %s: %d spans, want %d: %s\n%s", hex, tr.SpanCount, want, b, out.String())
		}
		sort.Slice(tr.Spans, func(i, j int) bool {
			return tr.Spans[i].Service+tr.Spans[i].Name < tr.Spans[j].Service+tr.Spans[j].Name
		})
		return tr.Spans
	}
	names := func(ss []span) string {
		var n []string
		for _, s := range ss {
			n = append(n, fmt.Sprintf("%s/%s/%v", s.Service, s.Name, s.Error))
		}
		return strings.Join(n, ",")
	}
	traceEvents := func(hex string) string {
		r, _ := http.NewRequest("GET", base+"/api/v1/traces/"+hex, nil)
		r.Header.Set("X-Honeycomb-Team", sdkKey)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr struct{ Events []json.RawMessage }
		_ = json.NewDecoder(resp.Body).Decode(&tr)
		var s []string
		for _, e := range tr.Events {
			s = append(s, string(e))
		}
		return strings.Join(s, "\n")
	}
	home := traceOf(ids["home"], 4)
	if got := names(home); got != "Cruddur/Cruddur/false,Cruddur/mock-data/false,backend-flask/GET /api/activities/home/false,backend-flask/home-activities-mock-data/false" {
		t.Fatalf("home trace: %s", got)
	}
	if home[1].Fields["annotation.result_length"] != 2.0 || home[3].Fields["app.result_length"] != 2.0 ||
		home[2].Fields["http.route"] != "/api/activities/home" || home[2].Fields["http.status_code"] != 200.0 {
		t.Fatalf("home fields: %+v", home)
	}
	boom := traceOf(ids["boom"], 2)
	if got := names(boom); got != "Cruddur/Cruddur/true,backend-flask/GET /api/boom/true" {
		t.Fatalf("boom trace: %s", got)
	}
	// The Rollbar occurrence is linked to the request's trace.
	if ev := traceEvents(ids["boom"]); !strings.Contains(ev, `"title":"ValueError: kaboom"`) {
		t.Errorf("boom trace events: %s", ev)
	}
	if boom[1].Fields["exception.type"] != "ValueError" || boom[1].Fields["exception.message"] != "kaboom" ||
		boom[0].Fields["http.status_code"] != 500.0 {
		t.Fatalf("boom fields: %+v", boom)
	}

	// Rollbar: the message of /rollbar/test and the exception of /api/boom.
	r, _ := http.NewRequest("GET", base+"/api/1/items?environment=production", nil)
	r.Header.Set("X-Rollbar-Access-Token", sdkKey)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var items struct {
		Err    int
		Result struct {
			Items []struct {
				Title, Level, Environment, Framework string
				TotalOccurrences                     int `json:"total_occurrences"`
			}
		}
	}
	if err := json.Unmarshal(b, &items); err != nil || items.Err != 0 {
		t.Fatalf("items: %s", b)
	}
	var got []string
	for _, it := range items.Result.Items {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s|%d", it.Title, it.Level, it.Environment, it.Framework, it.TotalOccurrences))
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != "Hello World!|warning|production|flask|1\nValueError: kaboom|error|production|flask|1" {
		t.Fatalf("rollbar items:\n%s\n%s", strings.Join(got, "\n"), b)
	}

	// CloudWatch Logs: watchtower sends every 60 s and at exit; stop the app
	// as Ctrl-C does, then read the group.
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("app did not exit on SIGINT: %s", out.String())
	}
	cl := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(base),
		Credentials: credentials.NewStaticCredentialsProvider(xrayKeyID, xraySecret, ""),
	})
	ctx := context.Background()
	var msgs []string
	p := cloudwatchlogs.NewFilterLogEventsPaginator(cl, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("cruddur")})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("FilterLogEvents: %v\n%s", err, out.String())
		}
		for _, e := range pg.Events {
			if !strings.Contains(*e.LogStreamName, "/app.py/__main__/") {
				t.Errorf("stream %q", *e.LogStreamName)
			}
			msgs = append(msgs, *e.Message)
		}
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"some message", "HomeActivities",
		" 127.0.0.1 GET http /api/activities/home? 200 OK",
		" 127.0.0.1 GET http /api/boom? 500 INTERNAL SERVER ERROR",
		" 127.0.0.1 GET http /rollbar/test? 200 OK"} {
		if !strings.Contains(all, want) {
			t.Errorf("log group cruddur lacks %q:\n%s", want, all)
		}
	}
	if len(msgs) != 5 {
		t.Errorf("%d log lines, want 5:\n%s", len(msgs), all)
	}
	if strings.Contains(out.String(), "stand-in:") || strings.Contains(out.String(), "failed to send data to X-Ray daemon") {
		t.Errorf("a client reported an error:\n%s", out.String())
	}
	if os.Getenv("WAGGLE_TEST_VERBOSE") != "" {
		t.Log(out.String())
	}
}
