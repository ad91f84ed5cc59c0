package otlp_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/config"
	"github.com/waggle-hq/waggle/internal/server"
	"github.com/waggle-hq/waggle/internal/traceapi"
)

// These tests run a whole node in-process (server.New, as `waggle serve`
// does: the store, the ingest pipeline with its time policy, every
// protocol) on loopback ports, send to it with real clients and read back
// through the Honeycomb query API and the trace API.

const nodeKey = "otel-js-test-key-0123456789ab"

type node struct {
	srv  *server.Server
	base string // main HTTP port
	otlp string // OTLP/HTTP port
}

func startNode(t *testing.T) *node {
	t.Helper()
	cfg := &config.Config{
		DataDir:           t.TempDir(),
		HTTPAddr:          "127.0.0.1:0",
		OTLPHTTPAddr:      "127.0.0.1:0",
		MemoryLimit:       256 << 20,
		APIKey:            nodeKey,
		RetentionInterval: time.Hour,
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // Run shuts down at once
		if err := srv.Run(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &node{srv: srv, base: "http://" + srv.HTTPAddr(), otlp: "http://" + srv.OTLPHTTPAddr()}
}

func (n *node) do(t *testing.T, method, path, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = n.base + path
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Honeycomb-Team", nodeKey)
	req.Header.Set("Content-Type", contentType)
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
func (n *node) query(t *testing.T, dataset, spec string) map[string]json.RawMessage {
	t.Helper()
	status, _, b := n.do(t, "POST", "/1/queries/"+url.PathEscape(dataset), "application/json", spec)
	if status != 200 {
		t.Fatalf("create query %s: %d %s", spec, status, b)
	}
	var q struct{ ID string }
	_ = json.Unmarshal(b, &q)
	status, hdr, b := n.do(t, "POST", "/1/query_results/"+url.PathEscape(dataset), "application/json", `{"query_id":"`+q.ID+`","disable_series":true}`)
	if status != 201 {
		t.Fatalf("run query: %d %s", status, b)
	}
	status, _, b = n.do(t, "GET", hdr.Get("Location"), "application/json", "")
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

type resultRow struct {
	Data map[string]any `json:"data"`
}

func results(t *testing.T, data map[string]json.RawMessage) []resultRow {
	t.Helper()
	var rows []resultRow
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

// trace reads a trace through GET /api/v1/traces/{id}; status is the
// answer's code, tr nil unless it is 200.
func (n *node) trace(t *testing.T, id string) (status int, tr *traceapi.Trace) {
	t.Helper()
	status, _, b := n.do(t, "GET", "/api/v1/traces/"+id, "application/json", "")
	if status != 200 {
		return status, nil
	}
	tr = &traceapi.Trace{}
	if err := json.Unmarshal(b, tr); err != nil {
		t.Fatal(err)
	}
	return status, tr
}
