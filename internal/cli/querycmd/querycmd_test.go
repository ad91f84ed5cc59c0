package querycmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// fakeServer serves the Honeycomb query API over a real query.Engine with
// canned store results. Its first read of each result says it is not
// complete yet, so the client must poll.
type fakeServer struct {
	*httptest.Server
	engine *query.Engine

	mu      sync.Mutex
	specs   []string // specs received
	reqs    []string // query_results requests received
	results map[string][]byte
	polled  map[string]bool
}

type fakeCatalog struct{}

func (fakeCatalog) Columns(_ context.Context, _ event.EnvID, ds []string) (map[string]query.ColumnInfo, error) {
	for _, d := range ds {
		if d != "api" {
			return nil, query.ErrUnknownDataset
		}
	}
	return map[string]query.ColumnInfo{
		"duration_ms": {Type: event.TypeFloat}, "status": {Type: event.TypeInt},
		"endpoint": {Type: event.TypeString}, "error": {Type: event.TypeBool},
	}, nil
}

type fakeExec struct{}

func (fakeExec) Execute(_ context.Context, _ event.EnvID, p *query.Plan) (*query.Result, error) {
	if p.Raw() {
		return &query.Result{Events: []query.RawEvent{{
			Time: time.Date(2025, 3, 1, 11, 59, 0, 0, time.UTC), Dataset: "api", SampleRate: 1,
			Fields: []event.Field{{Key: "status", Value: event.Int(503)}, {Key: "endpoint", Value: event.String("/x")}},
		}}}, nil
	}
	vals := func(n ...float64) []query.AggValue {
		out := make([]query.AggValue, len(p.Aggregates))
		for i := range out {
			out[i] = query.AggValue{Number: n[i%len(n)]}
			if p.Aggregates[i].Op == query.AggHeatmap {
				out[i] = query.AggValue{Heatmap: &query.Histogram{Min: 0, Max: 10, Counts: []float64{3, 4}}}
			}
		}
		return out
	}
	if len(p.Breakdowns) == 0 {
		return &query.Result{Groups: []query.Group{{Values: vals(42)}}}, nil
	}
	return &query.Result{Groups: []query.Group{
		{Key: []event.Value{event.String("/api/users")}, Values: vals(30, 123.456)},
		{Key: []event.Value{{}}, Values: vals(2, 0.5)},
	}}, nil
}

func newFakeServer(tb testing.TB) *fakeServer {
	tb.Helper()
	s := &fakeServer{
		engine:  query.NewEngine(fakeExec{}, fakeCatalog{}),
		results: map[string][]byte{},
		polled:  map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /1/queries/{dataset}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Honeycomb-Team") != "secret" {
			http.Error(w, `{"error":"unknown API key - check your credentials"}`, 401)
			return
		}
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.specs = append(s.specs, string(body))
		s.mu.Unlock()
		spec, err := query.ParseSpec(body)
		if err == nil {
			var q query.SavedQuery
			if q, err = s.engine.Save(r.Context(), 1, r.PathValue("dataset"), spec); err == nil {
				w.Write([]byte(`{"id":"` + q.ID + `"}`))
				return
			}
		}
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
	})
	mux.HandleFunc("POST /1/query_results/{dataset}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			QueryID       string `json:"query_id"`
			DisableSeries bool   `json:"disable_series"`
			DisableTotal  bool   `json:"disable_total_by_aggregate"`
			Limit         int
		}
		json.Unmarshal(body, &req)
		s.mu.Lock()
		s.reqs = append(s.reqs, string(body))
		s.mu.Unlock()
		q, err := s.engine.Saved(r.Context(), 1, r.PathValue("dataset"), req.QueryID)
		if err != nil {
			w.WriteHeader(404)
			w.Write([]byte(`{"error":"query not found"}`))
			return
		}
		spec, _ := q.Parse()
		out, err := s.engine.Run(r.Context(), 1, []string{r.PathValue("dataset")}, spec, query.Options{
			DisableSeries: req.DisableSeries, DisableTotalByAggregate: req.DisableTotal, Limit: req.Limit,
			Now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		})
		if err != nil {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		data, _ := json.Marshal(out)
		s.mu.Lock()
		s.results["r1"] = []byte(`{"query":` + string(q.Spec) + `,"id":"r1","complete":true,"data":` + string(data) + `,"links":{}}`)
		s.mu.Unlock()
		w.WriteHeader(201)
		w.Write([]byte(`{"id":"r1","complete":false,"links":{}}`))
	})
	mux.HandleFunc("GET /1/query_results/{dataset}/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		id := r.PathValue("id")
		if !s.polled[id] {
			s.polled[id] = true
			w.Write([]byte(`{"id":"` + id + `","complete":false}`))
			return
		}
		w.Write(s.results[id])
	})
	s.Server = httptest.NewServer(mux)
	tb.Cleanup(s.Close)
	return s
}

// run runs the command against srv and returns its output.
func run(tb testing.TB, srv *fakeServer, args ...string) (string, error) {
	tb.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"--server", srv.URL, "--key", "secret"}, args...)
	err := Run(tb.Context(), args, &out, &errOut)
	return out.String(), err
}

func TestQueryTable(t *testing.T) {
	srv := newFakeServer(t)
	out, err := run(t, srv, "--dataset", "api", "--calc", "COUNT", "--calc", "P95(duration_ms)",
		"--breakdown", "endpoint", "--where", "status >= 500", "--where", "endpoint in /a,/b",
		"--order", "COUNT desc", "--having", "COUNT > 1", "--limit", "10", "--time-range", "1h", "--granularity", "1m")
	if err != nil {
		t.Fatal(err)
	}
	want := "" +
		"endpoint    COUNT  P95(duration_ms)\n" +
		"/api/users  30     123.456\n" +
		"(null)      2      0.5\n"
	if out != want {
		t.Errorf("table:\n%s\nwant:\n%s", out, want)
	}
	wantSpec := `{"calculations":[{"op":"COUNT"},{"op":"P95","column":"duration_ms"}],"filters":[{"column":"status","op":">=","value":500},{"column":"endpoint","op":"in","value":["/a","/b"]}],"breakdowns":["endpoint"],"orders":[{"op":"COUNT","order":"descending"}],"havings":[{"calculate_op":"COUNT","op":">","value":1}],"limit":10,"time_range":3600,"granularity":60}`
	if got := unescape(srv.specs[0]); got != wantSpec {
		t.Errorf("spec sent:\n%s\nwant:\n%s", got, wantSpec)
	}
	if !strings.Contains(srv.reqs[0], `"disable_series":true`) {
		t.Errorf("table run should disable the series: %s", srv.reqs[0])
	}
}

// unescape undoes encoding/json's HTML escaping.
func unescape(s string) string {
	return strings.NewReplacer(`\u003e`, ">", `\u003c`, "<", `\u0026`, "&").Replace(s)
}

func TestQueryJSONAndSpecFile(t *testing.T) {
	srv := newFakeServer(t)
	path := filepath.Join(t.TempDir(), "spec.json")
	os.WriteFile(path, []byte(`{"calculations":[{"op":"HEATMAP","column":"duration_ms"}],"time_range":600}`), 0o644)
	out, err := run(t, srv, "--spec", path, "--dataset", "api", "--calc", "COUNT", "--json", "--series")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Complete bool
		Data     struct {
			Results []struct{ Data map[string]any }
			Series  []any
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if !res.Complete || len(res.Data.Results) != 1 || res.Data.Results[0].Data["COUNT"] != 42.0 {
		t.Errorf("json output %s", out)
	}
	if _, ok := res.Data.Results[0].Data["HEATMAP(duration_ms)"].(map[string]any); !ok {
		t.Errorf("heatmap missing: %s", out)
	}
	if strings.Contains(srv.reqs[0], `"disable_series":true`) {
		t.Errorf("--series should keep the series: %s", srv.reqs[0])
	}
	// The table shows a heatmap compactly.
	out, err = run(t, srv, "--spec", path, "--dataset", "api")
	if err != nil {
		t.Fatal(err)
	}
	if want := "HEATMAP(duration_ms)\nn=7 [0..10]\n"; out != want {
		t.Errorf("table %q, want %q", out, want)
	}
}

func TestQueryRawEvents(t *testing.T) {
	srv := newFakeServer(t)
	out, err := run(t, srv, "--dataset", "api", "--where", "status exists", "--start", "2025-03-01T11:00:00Z", "--end", "1740830400")
	if err != nil {
		t.Fatal(err)
	}
	want := "time                  endpoint  status\n2025-03-01T11:59:00Z  /x        503\n"
	if out != want {
		t.Errorf("events:\n%q\nwant:\n%q", out, want)
	}
	if !strings.Contains(srv.specs[0], `"start_time":1740826800,"end_time":1740830400`) {
		t.Errorf("spec %s", srv.specs[0])
	}
}

func TestQueryLargeLimitAndEnv(t *testing.T) {
	srv := newFakeServer(t)
	t.Setenv("WAGGLE_SERVER", srv.URL)
	t.Setenv("WAGGLE_API_KEY", "secret")
	var out bytes.Buffer
	err := Run(t.Context(), []string{"--dataset", "api", "--breakdown", "endpoint", "--limit", "5000"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(srv.reqs[0], `"limit":5000`) || strings.Contains(srv.specs[0], "limit") {
		t.Errorf("a limit above 1000 belongs in the run request: spec %s, request %s", srv.specs[0], srv.reqs[0])
	}
	if !strings.HasPrefix(out.String(), "endpoint    COUNT\n") {
		t.Errorf("breakdown without calculations counts: %q", out.String())
	}
}

func TestQueryErrors(t *testing.T) {
	srv := newFakeServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--dataset", "api", "--calc", "SUM(endpoint)"}, `SUM needs a numeric column, but "endpoint" is a string column (HTTP 400)`},
		{[]string{"--dataset", "nope", "--calc", "COUNT"}, "dataset not found"},
		{[]string{"--calc", "MEDIAN(x)"}, "--calc"},
		{[]string{"--where", "status"}, "--where"},
		{[]string{"--calc", "COUNT", "--order", "AVG(x)"}, "order AVG(x) is not one of"},
		{[]string{"--time-range", "2 weeks"}, "--time-range"},
		{[]string{"stray"}, "unexpected argument"},
		{[]string{"--spec", "/does/not/exist"}, "read spec"},
		{[]string{"--key", "wrong", "--calc", "COUNT"}, "unknown API key"},
	}
	for _, tt := range tests {
		_, err := run(t, srv, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want %q", tt.args, err, tt.want)
		}
	}
}
