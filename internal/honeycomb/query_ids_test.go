package honeycomb

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
)

// TestQueryResultsAnyNode runs two API instances on one metadata database
// and one store, as two nodes behind a load balancer: a result POSTed through
// one is read through the other, over the range the POST resolved (not the
// other node's clock), with the same data; forged, foreign and expired ids
// are unknown.
func TestQueryResultsAnyNode(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := duckdb.Open(duckdb.Options{Dir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db, err := meta.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	now := time.Now().UTC().Truncate(time.Minute)
	var (
		clockMu sync.Mutex
		clockB  = now.Add(10 * time.Minute) // node B's clock runs later
	)
	nodeOf := func(clock func() time.Time) *httptest.Server {
		a := &API{Store: st, Auth: queryTestAuth{}, Log: log, Now: clock, Alerting: &Alerting{DB: db},
			Engine: query.NewEngine(st, NewQueryCatalog(st), query.WithRepository(db), query.WithLogger(log))}
		mux := http.NewServeMux()
		a.registerQueries(mux)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv
	}
	nodeA := nodeOf(func() time.Time { return now })
	nodeB := nodeOf(func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clockB })

	var evs []event.Event
	for i := range 6 {
		e := event.Event{Time: now.Add(-time.Duration(i+1) * time.Minute), Dataset: "shop", SampleRate: 1}
		e.Set("status", event.Int(int64(200+i%2*300)))
		evs = append(evs, e)
	}
	// Within B's own last hour but after A's: counted only if B used its
	// clock instead of the id's.
	late := event.Event{Time: now.Add(5 * time.Minute), Dataset: "shop", SampleRate: 1}
	late.Set("status", event.Int(200))
	evs = append(evs, late)
	if err := st.Write(ctx, event.Batch{Env: e2eEnv, Events: evs}); err != nil {
		t.Fatal(err)
	}
	status, _, q := call(t, nodeA, "POST", "/1/queries/shop", "all",
		`{"calculations":[{"op":"COUNT"}],"breakdowns":["status"],"time_range":3600}`)
	if status != 200 {
		t.Fatalf("create query: %d %v", status, q)
	}
	qid := q["id"].(string)

	status, hdr, created := call(t, nodeA, "POST", "/1/query_results/shop", "all", `{"query_id":"`+qid+`","disable_series":true}`)
	if status != 201 || created["complete"] != true {
		t.Fatalf("run through A: %d %v", status, created)
	}
	id := created["id"].(string)
	if !strings.HasSuffix(hdr.Get("Location"), "/1/query_results/shop/"+id) {
		t.Fatalf("Location %q", hdr.Get("Location"))
	}
	get := func(srv *httptest.Server, dataset, id string) (int, http.Header, map[string]any) {
		return call(t, srv, "GET", "/1/query_results/"+dataset+"/"+id, "run", "")
	}
	_, _, fromA := get(nodeA, "shop", id)
	status, hdrB, fromB := get(nodeB, "shop", id)
	if status != 200 || fromB["complete"] != true || fromB["id"] != id {
		t.Fatalf("read through B: %d %v", status, fromB)
	}
	if !reflect.DeepEqual(fromA["data"], fromB["data"]) || !reflect.DeepEqual(fromA["query"], fromB["query"]) {
		t.Fatalf("B answers %v, A answered %v", fromB, fromA)
	}
	if hdrB.Get("Cache-Control") != "private, max-age=86400" || hdrB.Get("Last-Modified") != now.Format(http.TimeFormat) {
		t.Fatalf("B's headers: %v", hdrB)
	}
	var data e2eData
	raw, _ := json.Marshal(fromB["data"])
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	counts := map[float64]float64{}
	for _, r := range data.Results {
		counts[r.Data["status"].(float64)] = r.Data["COUNT"].(float64)
	}
	if counts[200] != 3 || counts[500] != 3 || len(data.Series) != 0 {
		t.Fatalf("B's counts %v (series %d), want A's range: 3 and 3 without series", counts, len(data.Series))
	}
	// Case-insensitive dataset names, as the POST accepts them.
	if status, _, _ := get(nodeB, "Shop", id); status != 200 {
		t.Fatalf("read through B as Shop: %d", status)
	}

	// Ids the deployment did not issue are unknown.
	tampered := []byte(id)
	tampered[len(tampered)/2] ^= 1
	for name, bad := range map[string]string{"tampered": string(tampered), "random": "0123456789abcdef", "empty-ish": "AQ"} {
		if status, _, body := get(nodeB, "shop", bad); status != 404 || body["error"] != "query result not found" {
			t.Errorf("%s id: %d %v", name, status, body)
		}
	}
	// An id is bound to its dataset.
	if status, _, body := get(nodeB, "__all__", id); status != 404 {
		t.Errorf("id read under __all__: %d %v", status, body)
	}
	// Past the TTL it is gone on every node.
	clockMu.Lock()
	clockB = now.Add(defaultResultTTL + time.Minute)
	clockMu.Unlock()
	if status, _, _ := get(nodeB, "shop", id); status != 404 {
		t.Errorf("expired id read through B: %d", status)
	}
}

// TestResultKeyShared checks that nodes starting together agree on one key.
func TestResultKeyShared(t *testing.T) {
	db, err := meta.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys := make([][]byte, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var k resultKeys
			key, err := k.get(context.Background(), db)
			if err != nil {
				t.Error(err)
			}
			keys[i] = key
		}()
	}
	wg.Wait()
	for i := range keys {
		if len(keys[i]) != 32 || string(keys[i]) != string(keys[0]) {
			t.Fatalf("keys differ: %x", keys)
		}
	}
}

func TestResultIDRoundTrip(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	run := resultRun{QueryID: "abc123", Opts: query.Options{DisableSeries: true, DisableOtherByAggregate: true, Limit: 500,
		Now: time.Unix(1700000000, 123456789).UTC()}}
	id := encodeResultID(key, 3, "shop", run)
	got, ok := decodeResultID(key, 3, "shop", id)
	if !ok || !reflect.DeepEqual(got, run) {
		t.Fatalf("round trip: %v %+v", ok, got)
	}
	if _, ok := decodeResultID(key, 4, "shop", id); ok {
		t.Fatal("accepted in another environment")
	}
	if _, ok := decodeResultID(key, 3, "web", id); ok {
		t.Fatal("accepted in another dataset")
	}
	if _, ok := decodeResultID([]byte("another key of thirty-two bytes!"), 3, "shop", id); ok {
		t.Fatal("accepted under another key")
	}
}
