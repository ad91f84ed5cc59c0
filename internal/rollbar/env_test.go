package rollbar

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/notify"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// testKey is the all-permission waggle key of every test environment.
const testKey = "waggle-test-key-0123456789"

// testEnv is a Rollbar API (and the Honeycomb API, for checking the
// occurrence events) over real metadata, a real DuckDB store and a real
// pipeline, served on loopback.
type testEnv struct {
	srv     *httptest.Server
	base    string
	db      *meta.DB
	st      store.Store
	pipe    *ingest.Pipeline
	tenants *tenant.Service
	tokens  *tenant.RollbarTokens
	items   *Items
	notify  *notify.Deliverer
	api     *API
	env     event.EnvID

	// Rollbar tokens with one scope each.
	serverTok, clientTok, readTok, writeTok string
}

type envOptions struct {
	budget int64
	notify notify.Options
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestEnv(tb testing.TB, opt envOptions) *testEnv {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	db, err := meta.Open(ctx, filepath.Join(dir, "meta"))
	if err != nil {
		tb.Fatal(err)
	}
	st, err := duckdb.Open(duckdb.Options{Dir: filepath.Join(dir, "store"), Threads: 2})
	if err != nil {
		tb.Fatal(err)
	}
	pipe := ingest.New(st, ingest.Config{MemoryBudget: opt.budget, Logger: discardLogger()})
	tenants, err := tenant.NewService(ctx, db, discardLogger())
	if err != nil {
		tb.Fatal(err)
	}
	boot, err := tenants.Bootstrap(ctx, tenant.BootstrapOptions{APIKey: testKey})
	if err != nil {
		tb.Fatal(err)
	}
	tokens, err := tenant.NewRollbarTokens(ctx, tenants, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	if opt.notify.Logger == nil {
		opt.notify.Logger = discardLogger()
	}
	e := &testEnv{db: db, st: st, pipe: pipe, tenants: tenants, tokens: tokens, env: boot.Environment.ID}
	e.items = NewItems(db, discardLogger())
	e.notify = notify.New(db, opt.notify)
	e.api = &API{Store: st, Pipeline: pipe, Tokens: tokens, Items: e.items, Notify: e.notify, Log: discardLogger()}
	mux := http.NewServeMux()
	e.api.Register(mux)
	hc := &honeycomb.API{
		Store: st, Pipeline: pipe, Auth: tenants, Log: discardLogger(),
		Engine: query.NewEngine(st, honeycomb.NewQueryCatalog(st)),
	}
	hc.Register(mux)
	e.srv = httptest.NewServer(mux)
	e.base = e.srv.URL
	tb.Cleanup(func() {
		e.srv.Close()
		e.items.Close()
		e.api.Close()
		e.notify.Close()
		tokens.Close()
		pipe.Close()
		_ = st.Close()
		_ = db.Close()
	})
	mk := func(s tenant.RollbarScope) string {
		_, secret, err := tokens.CreateToken(ctx, e.env, string(s), []tenant.RollbarScope{s})
		if err != nil {
			tb.Fatal(err)
		}
		return secret
	}
	e.serverTok, e.clientTok = mk(tenant.ScopePostServerItem), mk(tenant.ScopePostClientItem)
	e.readTok, e.writeTok = mk(tenant.ScopeRead), mk(tenant.ScopeWrite)
	return e
}

// do sends a request with an X-Rollbar-Access-Token header (when token is
// set) and decodes a JSON answer into out (when set).
func (e *testEnv) do(tb testing.TB, method, path, token string, body []byte, out any, header ...string) *http.Response {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Rollbar-Access-Token", token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: %d %s: decode: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp
}

// post posts an item payload and returns the status and the decoded answer.
func (e *testEnv) post(tb testing.TB, token string, payload []byte, header ...string) (int, map[string]any) {
	tb.Helper()
	var out map[string]any
	resp := e.do(tb, http.MethodPost, "/api/1/item/", token, payload, &out, header...)
	return resp.StatusCode, out
}

// itemsResult is GET /api/1/items's answer.
type itemsResult struct {
	Err    int `json:"err"`
	Result struct {
		Page       int        `json:"page"`
		TotalCount int        `json:"total_count"`
		Items      []itemView `json:"items"`
	} `json:"result"`
}

type itemView struct {
	ID                int64    `json:"id"`
	Counter           int64    `json:"counter"`
	Title             string   `json:"title"`
	Level             string   `json:"level"`
	Status            string   `json:"status"`
	Environment       string   `json:"environment"`
	Environments      []string `json:"environments"`
	CodeVersions      []string `json:"code_versions"`
	Framework         string   `json:"framework"`
	Hash              string   `json:"hash"`
	TotalOccurrences  int64    `json:"total_occurrences"`
	FirstOccurrenceID int64    `json:"first_occurrence_id"`
	LastOccurrenceID  int64    `json:"last_occurrence_id"`
	ResolvedInVersion *string  `json:"resolved_in_version"`
}

func (e *testEnv) listItems(tb testing.TB, query string) []itemView {
	tb.Helper()
	var out itemsResult
	resp := e.do(tb, http.MethodGet, "/api/1/items?"+query, e.readTok, nil, &out)
	if resp.StatusCode != 200 || out.Err != 0 {
		tb.Fatalf("list items: %d %+v", resp.StatusCode, out)
	}
	return out.Result.Items
}

// instances returns an item's occurrences through the read API.
func (e *testEnv) instances(tb testing.TB, itemID int64) []map[string]any {
	tb.Helper()
	var out struct {
		Result struct {
			Instances []map[string]any `json:"instances"`
		} `json:"result"`
	}
	resp := e.do(tb, http.MethodGet, "/api/1/item/"+itoa(itemID)+"/instances", e.readTok, nil, &out)
	if resp.StatusCode != 200 {
		tb.Fatalf("instances: %d", resp.StatusCode)
	}
	return out.Result.Instances
}

// honeycombQuery runs a query spec over the Honeycomb query API on the error
// dataset and returns the result rows' data.
func (e *testEnv) honeycombQuery(tb testing.TB, spec string) []map[string]any {
	tb.Helper()
	hdr := []string{"X-Honeycomb-Team", testKey}
	var q struct {
		ID string `json:"id"`
	}
	resp := e.do(tb, http.MethodPost, "/1/queries/"+Dataset, "", []byte(spec), &q, hdr...)
	if resp.StatusCode != 200 || q.ID == "" {
		raw, _ := io.ReadAll(resp.Body)
		tb.Fatalf("create query: %d %s", resp.StatusCode, raw)
	}
	var res struct {
		ID       string `json:"id"`
		Complete bool   `json:"complete"`
		Data     struct {
			Results []struct {
				Data map[string]any `json:"data"`
			} `json:"results"`
		} `json:"data"`
	}
	resp = e.do(tb, http.MethodPost, "/1/query_results/"+Dataset, "", []byte(`{"query_id":"`+q.ID+`","disable_series":true}`), &res, hdr...)
	if resp.StatusCode >= 300 {
		raw, _ := io.ReadAll(resp.Body)
		tb.Fatalf("run query: %d %s", resp.StatusCode, raw)
	}
	for i := 0; i < 100; i++ {
		res.Complete = false
		e.do(tb, http.MethodGet, "/1/query_results/"+Dataset+"/"+res.ID, "", nil, &res, hdr...)
		if res.Complete {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var rows []map[string]any
	for _, r := range res.Data.Results {
		rows = append(rows, r.Data)
	}
	return rows
}

// capture reads a captured request (internal/rollbar/testdata/captures,
// copied from the shared reference captures) and returns its body and
// headers.
func capture(tb testing.TB, name string) ([]byte, map[string]string) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "captures", name))
	if err != nil {
		tb.Fatal(err)
	}
	var c struct {
		Headers map[string]string `json:"request_headers"`
		Body    json.RawMessage   `json:"body"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		tb.Fatal(err)
	}
	return c.Body, c.Headers
}
