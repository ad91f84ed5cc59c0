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
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/smithy-go"

	"github.com/waggle-hq/waggle/internal/config"
)

const (
	xrayKeyID  = "AKIDEXAMPLE"
	xraySecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

func startXRayNode(t *testing.T) *Server {
	t.Helper()
	cfg := &config.Config{
		DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", XRayAddr: "127.0.0.1:0", MemoryLimit: 256 << 20,
		APIKey: sdkKey, AWSAccessKeyID: xrayKeyID, AWSSecretAccessKey: xraySecret,
	}
	srv, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.close(ctx)
	})
	if srv.XRayAddr() == "" {
		t.Fatal("no x-ray daemon")
	}
	return srv
}

func xrayClient(base, secret string) *awsxray.Client {
	return awsxray.New(awsxray.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(base),
		Credentials: credentials.NewStaticCredentialsProvider(xrayKeyID, secret, ""),
	})
}

// TestXRayGoSDKAndOTelOneTrace runs aws-xray-sdk-go's xray.Handler in a real
// HTTP server pointed at waggle only by AWS_XRAY_DAEMON_ADDRESS, sends an
// OTLP span of the same trace, and reads one trace back from the trace API
// and through aws-sdk-go-v2's X-Ray client.
func TestXRayGoSDKAndOTelOneTrace(t *testing.T) {
	srv := startXRayNode(t)
	base := "http://" + srv.HTTPAddr()
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", srv.XRayAddr())
	if err := xray.Configure(xray.Config{ServiceVersion: "1.2.3"}); err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(xray.Handler(xray.NewDynamicSegmentNamer("backend-go", "*.example.com"), http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			_ = xray.AddAnnotation(r.Context(), "user_id", "u-42")
			_ = xray.Capture(r.Context(), "db-query", func(ctx context.Context) error {
				if r.URL.Path == "/boom" {
					return errors.New("boom")
				}
				return nil
			})
			if r.URL.Path == "/boom" {
				w.WriteHeader(500)
				return
			}
			_, _ = w.Write([]byte("ok"))
		})))
	defer app.Close()

	now := time.Now()
	traceHex := fmt.Sprintf("%08x", now.Unix()) + "bd862e3fe1be46a994272793"
	xrayID := "1-" + traceHex[:8] + "-" + traceHex[8:]
	// The OTel caller span (W3C id) whose child is the X-Ray segment.
	otelSpan := "53995c3f42cd8ad8"
	otlp := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"frontend"}}]},
		"scopeSpans":[{"spans":[{"traceId":"%s","spanId":"%s","name":"GET /api","kind":2,
		"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}]}]}]}`, traceHex, otelSpan, now.Add(-time.Millisecond).UnixNano(), now.Add(time.Second).UnixNano())
	req, _ := http.NewRequest("POST", base+"/v1/traces", strings.NewReader(otlp))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Honeycomb-Team", sdkKey)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatal(resp, err)
	}
	for _, path := range []string{"/api/x", "/boom"} {
		r, _ := http.NewRequest("GET", app.URL+path, nil)
		r.Host = "shop.example.com"
		if path == "/api/x" {
			r.Header.Set("X-Amzn-Trace-Id", "Root="+xrayID+";Parent="+otelSpan+";Sampled=1")
		} else {
			r.Header.Set("X-Amzn-Trace-Id", "Sampled=1")
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	// One trace through the trace API: the OTel span and the X-Ray segment
	// and subsegment.
	var tr struct {
		SpanCount int      `json:"span_count"`
		Services  []string `json:"services"`
		Spans     []struct {
			SpanID, ParentID, Name, Service string
		} `json:"spans"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, _ := http.NewRequest("GET", base+"/api/v1/traces/"+traceHex, nil)
		r.Header.Set("X-Honeycomb-Team", sdkKey)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = json.Unmarshal(b, &tr)
		if tr.SpanCount >= 3 || time.Now().After(deadline) {
			if tr.SpanCount != 3 || strings.Join(tr.Services, ",") != "frontend,shop.example.com" {
				t.Fatalf("trace: %s", b)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	ctx := context.Background()
	cl := xrayClient(base, xraySecret)
	start, end := now.Add(-time.Minute), now.Add(time.Minute)
	// The daemon batches what arrives over UDP, so the second trace may be
	// stored a moment after the first.
	var sums *awsxray.GetTraceSummariesOutput
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		sums, err = cl.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{StartTime: &start, EndTime: &end})
		if err != nil {
			t.Fatal(err)
		}
		if len(sums.TraceSummaries) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if len(sums.TraceSummaries) != 2 {
		t.Fatalf("%d summaries", len(sums.TraceSummaries))
	}
	for expr, want := range map[string]int{
		`service("shop.example.com") { fault }`:             1,
		`service("frontend")`:                               1,
		`edge("frontend", "shop.example.com")`:              1,
		`annotation.user_id = "u-42" AND http.status = 500`: 1,
		`fault`:              1,
		`!fault`:             1,
		`responsetime > 0.5`: 1,
	} {
		res, err := cl.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{StartTime: &start, EndTime: &end, FilterExpression: aws.String(expr)})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if len(res.TraceSummaries) != want {
			t.Errorf("%s: %d summaries, want %d", expr, len(res.TraceSummaries), want)
		}
	}
	bt, err := cl.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{xrayID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bt.Traces) != 1 || len(bt.Traces[0].Segments) != 2 {
		t.Fatalf("%+v", bt)
	}
	docs := ""
	for _, s := range bt.Traces[0].Segments {
		docs += *s.Document
	}
	if !strings.Contains(docs, `"name":"frontend"`) || !strings.Contains(docs, `"db-query"`) || !strings.Contains(docs, `"user_id":"u-42"`) {
		t.Fatal(docs)
	}
	g, err := cl.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("backend-go"), FilterExpression: aws.String(`service("shop.example.com")`)})
	if err != nil || *g.Group.GroupName != "backend-go" {
		t.Fatal(g, err)
	}
	// The group applies to traces stored before it existed.
	sg, err := cl.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{StartTime: &start, EndTime: &end, GroupName: aws.String("backend-go")})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range sg.Services {
		names[*s.Name] = true
	}
	if !names["shop.example.com"] || !names["frontend"] {
		t.Fatalf("graph %+v", names)
	}
	if _, err := xrayClient(base, "wrong").GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{StartTime: &start, EndTime: &end}); err == nil {
		t.Fatal("wrong secret accepted")
	} else {
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
			t.Fatalf("wrong secret: %v", err)
		}
	}
	// Sampling over the daemon's TCP port, unsigned, chunked.
	resp, err := http.Post("http://"+srv.XRayAddr()+"/GetSamplingRules", "application/json", io.NopCloser(bytes.NewReader([]byte(`{}`))))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"RuleName":"Default"`) || !strings.Contains(string(b), `"ModifiedAt":`) {
		t.Fatalf("%s", b)
	}
}
