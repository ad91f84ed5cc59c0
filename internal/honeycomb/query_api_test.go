package honeycomb

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// queryTestAuth knows three keys: "all" may do anything, "run" may only run
// queries, "send" may only send events.
type queryTestAuth struct{}

func (queryTestAuth) Authenticate(_ context.Context, secret string) (*tenant.Principal, error) {
	p := &tenant.Principal{KeyID: secret, Env: tenant.Environment{ID: 7}, Perms: map[tenant.Permission]bool{}}
	switch secret {
	case "all":
		for _, perm := range tenant.AllPermissions {
			p.Perms[perm] = true
		}
	case "run":
		p.Perms[tenant.PermRunQueries] = true
	case "send":
		p.Perms[tenant.PermSendEvents] = true
	default:
		return nil, tenant.ErrUnknownKey
	}
	return p, nil
}

// queryTestCatalog knows datasets "api" and "web".
type queryTestCatalog struct{}

func (queryTestCatalog) Columns(_ context.Context, _ event.EnvID, datasets []string) (map[string]query.ColumnInfo, error) {
	for _, d := range datasets {
		if s, _ := event.Slug(d); s != "api" && s != "web" {
			return nil, query.ErrUnknownDataset
		}
	}
	return map[string]query.ColumnInfo{
		"duration_ms": {Type: event.TypeFloat},
		"endpoint":    {Type: event.TypeString},
		"status":      {Type: event.TypeInt},
	}, nil
}

// queryTestExec answers every plan with two groups, or one without
// breakdowns, and remembers the plans.
type queryTestExec struct{ plans []*query.Plan }

func (e *queryTestExec) Execute(_ context.Context, _ event.EnvID, p *query.Plan) (*query.Result, error) {
	e.plans = append(e.plans, p)
	vals := func(n float64) []query.AggValue {
		out := make([]query.AggValue, len(p.Aggregates))
		for i := range out {
			out[i] = query.AggValue{Number: n}
		}
		return out
	}
	if len(p.Breakdowns) == 0 {
		return &query.Result{Groups: []query.Group{{Values: vals(3)}}}, nil
	}
	return &query.Result{Groups: []query.Group{
		{Key: []event.Value{event.String("/a")}, Values: vals(2)},
		{Key: []event.Value{event.String("/b")}, Values: vals(1)},
	}}, nil
}

// newQueryTestServer serves the query API over a fake engine.
func newQueryTestServer(tb testing.TB) (*httptest.Server, *queryTestExec) {
	tb.Helper()
	exec := &queryTestExec{}
	a := &API{
		Auth:   queryTestAuth{},
		Engine: query.NewEngine(exec, queryTestCatalog{}),
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) },
	}
	mux := http.NewServeMux()
	a.registerQueries(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv, exec
}

// call sends a request and decodes the JSON answer.
func call(tb testing.TB, srv *httptest.Server, method, path, key, body string) (int, http.Header, map[string]any) {
	tb.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("X-Honeycomb-Team", key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			tb.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func TestQueryAPIErrors(t *testing.T) {
	srv, _ := newQueryTestServer(t)
	tests := []struct {
		name       string
		method     string
		path, key  string
		body       string
		wantStatus int
		wantError  string
	}{
		{"unknown key", "POST", "/1/queries/api", "nope", `{}`, 401, "unknown API key - check your credentials"},
		{"create needs manage", "POST", "/1/queries/api", "run", `{}`, 401, "manage_queries"},
		{"run needs run_queries", "POST", "/1/query_results/api", "send", `{"query_id":"x"}`, 401, "run_queries"},
		{"unknown dataset", "POST", "/1/queries/nope", "all", `{"calculations":[{"op":"COUNT"}]}`, 404, "dataset not found"},
		{"bad spec", "POST", "/1/queries/api", "all", `{"calculations":[{"op":"SUM","column":"endpoint"}]}`, 400, `SUM needs a numeric column, but "endpoint" is a string column`},
		{"unknown column", "POST", "/1/queries/api", "all", `{"breakdowns":["nope"]}`, 400, `unknown column "nope"`},
		{"not json", "POST", "/1/queries/api", "all", `calculations`, 400, "must be a JSON object"},
		{"too large", "POST", "/1/queries/api", "all", `{"breakdowns":["` + strings.Repeat("a", query.MaxSpecBytes) + `"]}`, 413, "too large"},
		{"unknown query", "GET", "/1/queries/api/0123456789abcdef", "all", ``, 404, "query not found"},
		{"unknown query dataset", "GET", "/1/queries/nope/0123456789abcdef", "all", ``, 404, "dataset not found"},
		{"run without id", "POST", "/1/query_results/api", "all", `{}`, 400, "query_id is required"},
		{"run unknown query", "POST", "/1/query_results/api", "all", `{"query_id":"0123456789abcdef"}`, 404, "query not found"},
		{"run unknown dataset", "POST", "/1/query_results/nope", "all", `{"query_id":"0123456789abcdef"}`, 404, "dataset not found"},
		{"unknown result", "GET", "/1/query_results/api/0123456789abcdef", "all", ``, 404, "query result not found"},
		{"unknown result dataset", "GET", "/1/query_results/nope/0123456789abcdef", "all", ``, 404, "dataset not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := call(t, srv, tt.method, tt.path, tt.key, tt.body)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d (body %v)", status, tt.wantStatus, body)
			}
			msg, _ := body["error"].(string)
			if !strings.Contains(msg, tt.wantError) {
				t.Errorf("error %q does not contain %q", msg, tt.wantError)
			}
		})
	}
}

func TestQueryAPIRoundTrip(t *testing.T) {
	srv, exec := newQueryTestServer(t)
	spec := `{"calculations":[{"op":"count"},{"op":"P95","column":"duration_ms"}],"breakdowns":["endpoint"],"filter_combination":"AND","time_range":3600}`
	status, _, q := call(t, srv, "POST", "/1/queries/API", "all", spec)
	if status != 200 {
		t.Fatalf("create: %d %v", status, q)
	}
	id, _ := q["id"].(string)
	if id == "" || q["filter_combination"] != nil {
		t.Fatalf("query object %v: want an id and no default AND", q)
	}
	if calcs := q["calculations"].([]any); calcs[0].(map[string]any)["op"] != "COUNT" {
		t.Errorf("calculations not canonical: %v", calcs)
	}
	// The same spec, spelled differently, has the same id.
	_, _, again := call(t, srv, "POST", "/1/queries/api", "all",
		`{"time_range":3600,"breakdowns":["endpoint"],"calculations":[{"op":"COUNT"},{"op":"p95","column":"duration_ms"}]}`)
	if again["id"] != id {
		t.Errorf("same spec got id %v, want %s", again["id"], id)
	}
	// A key that may only run queries can read it back.
	status, _, got := call(t, srv, "GET", "/1/queries/api/"+id, "run", "")
	if status != 200 || got["id"] != id {
		t.Fatalf("get query: %d %v", status, got)
	}

	status, hdr, created := call(t, srv, "POST", "/1/query_results/api", "run", `{"query_id":"`+id+`","disable_series":true,"limit":5000}`)
	if status != 201 {
		t.Fatalf("create result: %d %v", status, created)
	}
	loc := hdr.Get("Location")
	rid, _ := created["id"].(string)
	if created["complete"] != true || rid == "" || !strings.HasSuffix(loc, "/1/query_results/api/"+rid) || !strings.HasPrefix(loc, "http://") {
		t.Fatalf("result %v, Location %q", created, loc)
	}
	if links, _ := created["links"].(map[string]any); links["query_url"] != loc {
		t.Errorf("links %v", created["links"])
	}
	if p := exec.plans[0]; p.Limit != 5000 || p.Granularity != 0 || len(p.Datasets) != 1 || p.Datasets[0] != "api" {
		t.Errorf("plan: limit %d, granularity %v, datasets %v", p.Limit, p.Granularity, p.Datasets)
	}

	status, hdr, res := call(t, srv, "GET", strings.TrimPrefix(loc, srv.URL), "run", "")
	if status != 200 || res["complete"] != true || res["id"] != rid {
		t.Fatalf("get result: %d %v", status, res)
	}
	if hdr.Get("Cache-Control") != "private, max-age=86400" || hdr.Get("Last-Modified") == "" {
		t.Errorf("headers %v", hdr)
	}
	data := res["data"].(map[string]any)
	results := data["results"].([]any)
	if len(results) != 2 {
		t.Fatalf("results %v", results)
	}
	first := results[0].(map[string]any)["data"].(map[string]any)
	if first["endpoint"] != "/a" || first["COUNT"] != 2.0 || first["P95(duration_ms)"] != 2.0 {
		t.Errorf("first row %v", first)
	}
	if total := data["total_by_aggregate"].(map[string]any); total["COUNT"] != 3.0 {
		t.Errorf("total %v", total)
	}
	if _, ok := data["series"]; ok {
		t.Errorf("series present though disabled")
	}
	if res["query"].(map[string]any)["id"] != id {
		t.Errorf("result query %v", res["query"])
	}
}

func TestQueryAPIAllDatasets(t *testing.T) {
	srv, exec := newQueryTestServer(t)
	status, _, q := call(t, srv, "POST", "/1/queries/__all__", "all", `{"calculations":[{"op":"COUNT"}]}`)
	if status != 200 {
		t.Fatalf("create: %d %v", status, q)
	}
	status, hdr, created := call(t, srv, "POST", "/1/query_results/__all__", "all", `{"query_id":"`+q["id"].(string)+`"}`)
	if status != 201 {
		t.Fatalf("run: %d %v", status, created)
	}
	if p := exec.plans[0]; len(p.Datasets) != 0 || p.Granularity != time.Minute {
		t.Errorf("plan datasets %v granularity %v, want every dataset and 1m", p.Datasets, p.Granularity)
	}
	status, _, res := call(t, srv, "GET", strings.TrimPrefix(hdr.Get("Location"), srv.URL), "all", "")
	if status != 200 {
		t.Fatalf("get: %d %v", status, res)
	}
	// A query of one dataset is not one of another.
	status, _, _ = call(t, srv, "GET", "/1/queries/web/"+q["id"].(string), "all", "")
	if status != 404 {
		t.Errorf("query of __all__ found under web: %d", status)
	}
}
