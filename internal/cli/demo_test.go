package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/config"
)

// TestDemo runs `waggle demo`'s pieces in-process (waggle on a temporary
// embedded store, the instrumented Cruddur API, the load generator) and
// checks, within 60 s of start, what the demo promises: traces where the
// OTel spans and the X-Ray segments of a request share one trace id, log
// lines linked to those traces, grouped Rollbar items, and the homework
// query with a row per endpoint.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for up to a minute")
	}
	cfg, err := config.Parse("waggle demo", []string{
		"-data-dir", t.TempDir(), "-http-addr", "127.0.0.1:0", "-otlp-http-addr", "127.0.0.1:0",
		"-otlp-grpc-addr", "", "-xray-addr", "127.0.0.1:0", "-memory-limit", "512MiB",
	}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var appLog bytes.Buffer
	d, err := StartDemo(ctx, cfg, "127.0.0.1:0", 40, slog.New(slog.NewTextHandler(io.Discard, nil)), &lockedWriter{w: &appLog})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	}()
	var welcome bytes.Buffer
	d.PrintWelcome(&welcome)
	if !strings.Contains(welcome.String(), d.HomeworkQueryURL()) || !strings.Contains(welcome.String(), "/ui/") {
		t.Fatalf("welcome: %s", welcome.String())
	}
	u, _ := url.Parse(d.HomeworkQueryURL())
	if q := u.Query(); u.Path != "/ui/query" || q.Get("ds") != DemoService || strings.Join(q["calc"], ",") != "COUNT,P95(duration_ms)" || q.Get("group") != "endpoint" {
		t.Fatalf("homework link %s", u)
	}

	// The load posts 2 % of messages to a handle without a conversation;
	// make sure a few such failures (one Rollbar item) exist early.
	for i := 0; i < 3; i++ {
		resp, err := http.Post(d.AppURL+"/api/messages", "application/json", strings.NewReader(`{"user_receiver_handle":"londo","message":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Fatalf("post to londo: %d", resp.StatusCode)
		}
	}

	get := func(path string, hdr map[string]string, out any) int {
		t.Helper()
		req, _ := http.NewRequest("GET", d.Base+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 && out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s: %v: %s", path, err, b)
			}
		}
		return resp.StatusCode
	}
	hc := map[string]string{"X-Honeycomb-Team": d.Key}

	type span struct {
		SpanID   string         `json:"span_id"`
		ParentID string         `json:"parent_id"`
		Name     string         `json:"name"`
		Service  string         `json:"service"`
		Dataset  string         `json:"dataset"`
		Fields   map[string]any `json:"fields"`
	}
	type traceDoc struct {
		TraceID string `json:"trace_id"`
		Spans   []span `json:"spans"`
		Logs    []struct {
			Dataset string         `json:"dataset"`
			Fields  map[string]any `json:"fields"`
		} `json:"logs"`
		Events []struct {
			Dataset string         `json:"dataset"`
			Fields  map[string]any `json:"fields"`
		} `json:"events"`
	}
	endpoints := []string{"/api/activities/home", "/api/activities/notifications", "/api/activities/search",
		"/api/activities/@<handle>", "/api/message_groups", "/api/messages/@<handle>", "/api/messages", "/api/activities"}

	var (
		joined      string // a trace with OTel and X-Ray spans and its log lines
		errorJoined string // a failed request's trace with its Rollbar occurrence
		grouped     bool
		hello       bool
		rows        map[string]bool
		lastState   string
	)
	deadline := start.Add(60 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(2 * time.Second)
		// Traces: root spans of the OTel service, newest first.
		if joined == "" || errorJoined == "" {
			type summary struct {
				TraceID    string `json:"trace_id"`
				RootName   string `json:"root_name"`
				ErrorCount int    `json:"error_count"`
			}
			var list, failed struct {
				Traces []summary `json:"traces"`
			}
			get("/api/v1/traces?time_range=600&limit=10&service="+DemoService, hc, &list)
			get("/api/v1/traces?time_range=600&limit=10&error=true&name="+url.QueryEscape("POST /api/messages")+"&service="+DemoService, hc, &failed)
			for _, tr := range append(list.Traces, failed.Traces...) {
				if joined != "" && (errorJoined != "" || tr.ErrorCount == 0) {
					continue
				}
				var doc traceDoc
				if get("/api/v1/traces/"+tr.TraceID, hc, &doc) != 200 {
					continue
				}
				var xraySeg, otelRoot, otelChild, xrayChildOfOTel bool
				byID := map[string]span{}
				for _, s := range doc.Spans {
					byID[s.SpanID] = s
				}
				for _, s := range doc.Spans {
					if s.Fields["meta.source"] == "xray" {
						xraySeg = true
						if p, ok := byID[s.ParentID]; ok && p.Dataset == DemoService {
							xrayChildOfOTel = true // the segment's parent is the OTel server span
						}
					} else if s.Dataset == DemoService {
						if s.ParentID == "" {
							otelRoot = true
						} else {
							otelChild = true
						}
					}
				}
				logs := 0
				for _, l := range doc.Logs {
					if l.Dataset == "cruddur" {
						logs++
					}
				}
				lastState = fmt.Sprintf("trace %s: xray=%v otelRoot=%v otelChild=%v xrayChildOfOTel=%v logs=%d events=%d", tr.TraceID, xraySeg, otelRoot, otelChild, xrayChildOfOTel, logs, len(doc.Events))
				if xraySeg && otelRoot && otelChild && xrayChildOfOTel && logs > 0 && joined == "" {
					joined = tr.TraceID
				}
				if tr.ErrorCount > 0 && tr.RootName == "POST /api/messages" && xraySeg && otelRoot && logs > 0 {
					for _, e := range doc.Events {
						if e.Dataset == "errors" && e.Fields["rollbar.item_id"] != nil {
							errorJoined = tr.TraceID
						}
					}
					for _, s := range doc.Spans { // an occurrence with a span id is listed with the spans
						if s.Dataset == "errors" && s.Fields["rollbar.item_id"] != nil {
							errorJoined = tr.TraceID
						}
					}
				}
			}
		}
		// Rollbar: items grouped by the read API.
		if !grouped || !hello {
			var items struct {
				Result struct {
					Items []struct {
						Title            string `json:"title"`
						Level            string `json:"level"`
						TotalOccurrences int    `json:"total_occurrences"`
					} `json:"items"`
				} `json:"result"`
			}
			get("/api/1/items", map[string]string{"X-Rollbar-Access-Token": d.Key}, &items)
			for _, it := range items.Result.Items {
				if strings.Contains(it.Title, "message group not found") && it.TotalOccurrences >= 3 && it.Level == "error" {
					grouped = true
				}
				if it.Title == "Hello World!" && it.Level == "warning" {
					hello = true
				}
			}
		}
		// The homework query.
		rows = homework(t, d)
		all := true
		for _, e := range endpoints {
			all = all && rows[e]
		}
		if joined != "" && errorJoined != "" && grouped && hello && all {
			t.Logf("all checks passed %.1fs after start; load: %s; joined trace %s, failed request's trace %s", time.Since(start).Seconds(), d.Load, joined, errorJoined)
			return
		}
	}
	t.Fatalf("after 60 s: joined=%q errorJoined=%q grouped=%v hello=%v homework rows=%v\nlast trace: %s\nload: %s\napp log tail: %s",
		joined, errorJoined, grouped, hello, rows, lastState, d.Load, tail(appLog.String(), 2000))
}

// homework runs COUNT, P95(duration_ms) GROUP BY endpoint through the
// Honeycomb query API and returns the endpoints with a row.
func homework(t *testing.T, d *Demo) map[string]bool {
	t.Helper()
	post := func(path string, body string, out any) {
		req, _ := http.NewRequest("POST", d.Base+path, strings.NewReader(body))
		req.Header.Set("X-Honeycomb-Team", d.Key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, out)
	}
	var q struct {
		ID string `json:"id"`
	}
	post("/1/queries/"+DemoService, `{"calculations":[{"op":"COUNT"},{"op":"P95","column":"duration_ms"}],"breakdowns":["endpoint"],"time_range":3600}`, &q)
	if q.ID == "" {
		return nil
	}
	var res struct {
		Data struct {
			Results []struct {
				Data map[string]any `json:"data"`
			} `json:"results"`
		} `json:"data"`
	}
	var r struct {
		ID string `json:"id"`
	}
	post("/1/query_results/"+DemoService, `{"query_id":"`+q.ID+`"}`, &r)
	if r.ID == "" {
		return nil
	}
	req, _ := http.NewRequest("GET", d.Base+"/1/query_results/"+DemoService+"/"+r.ID, nil)
	req.Header.Set("X-Honeycomb-Team", d.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&res)
	out := map[string]bool{}
	for _, r := range res.Data.Results {
		if e, ok := r.Data["endpoint"].(string); ok && r.Data["COUNT"] != nil && r.Data["P95(duration_ms)"] != nil {
			out[e] = true
		}
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
