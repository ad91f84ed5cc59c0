package honeycomb

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
)

// TestSavedQuerySurvivesRestart creates a query, restarts the store, the
// metadata database and the engine, and runs the query by its id.
func TestSavedQuerySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Now().UTC().Truncate(time.Minute)
	type node struct {
		srv *httptest.Server
		st  *duckdb.Store
		db  *meta.DB
	}
	start := func() *node {
		st, err := duckdb.Open(duckdb.Options{Dir: dir, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		db, err := meta.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		a := &API{Store: st, Auth: queryTestAuth{}, Log: log, Now: func() time.Time { return now },
			Engine: query.NewEngine(st, NewQueryCatalog(st), query.WithRepository(db), query.WithLogger(log))}
		mux := http.NewServeMux()
		a.registerQueries(mux)
		return &node{httptest.NewServer(mux), st, db}
	}
	stop := func(n *node) {
		n.srv.Close()
		if err := n.st.Close(); err != nil {
			t.Error(err)
		}
		if err := n.db.Close(); err != nil {
			t.Error(err)
		}
	}
	n := start()
	var evs []event.Event
	for i := range 5 {
		e := event.Event{Time: now.Add(-time.Duration(i+1) * time.Minute), Dataset: "shop", SampleRate: 1}
		e.Set("status", event.Int(int64(200+i%2*300)))
		evs = append(evs, e)
	}
	if err := n.st.Write(ctx, event.Batch{Env: e2eEnv, Events: evs}); err != nil {
		t.Fatal(err)
	}
	spec := `{"calculations":[{"op":"COUNT"}],"breakdowns":["status"],"time_range":3600}`
	status, _, q := call(t, n.srv, "POST", "/1/queries/shop", "all", spec)
	if status != 200 {
		t.Fatalf("create query: %d %v", status, q)
	}
	id := q["id"].(string)
	stop(n)

	n = start()
	defer stop(n)
	status, _, got := call(t, n.srv, "GET", "/1/queries/shop/"+id, "all", "")
	if status != 200 || got["id"] != id {
		t.Fatalf("get query after restart: %d %v", status, got)
	}
	status, hdr, created := call(t, n.srv, "POST", "/1/query_results/shop", "all", `{"query_id":"`+id+`"}`)
	if status != 201 {
		t.Fatalf("run query after restart: %d %v", status, created)
	}
	req, _ := http.NewRequest("GET", hdr.Get("Location"), nil)
	req.Header.Set("X-Honeycomb-Team", "all")
	resp, err := n.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Complete bool    `json:"complete"`
		Data     e2eData `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || !res.Complete || len(res.Data.Results) != 2 {
		t.Fatalf("result after restart: %+v %v", res, err)
	}
	counts := map[float64]float64{}
	for _, r := range res.Data.Results {
		counts[r.Data["status"].(float64)] = r.Data["COUNT"].(float64)
	}
	if counts[200] != 3 || counts[500] != 2 {
		t.Fatalf("counts after restart: %v", counts)
	}
	// An id never saved is still unknown.
	if status, _, _ := call(t, n.srv, "POST", "/1/query_results/shop", "all", `{"query_id":"nope"}`); status != 404 {
		t.Fatalf("unknown query id: %d", status)
	}
}
