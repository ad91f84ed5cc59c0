package honeycomb

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Keys known to testAuth.
const (
	keyFull     = "full-key"      // send events and create datasets
	keySendOnly = "send-only-key" // send events only
	keyQuery    = "query-key"     // no send permission
)

const testEnvID event.EnvID = 7

// testAuth authenticates the fixed keys above; tenancy is tested elsewhere.
type testAuth struct{}

func (testAuth) Authenticate(_ context.Context, secret string) (*tenant.Principal, error) {
	perms := map[string]map[tenant.Permission]bool{
		keyFull:     {tenant.PermSendEvents: true, tenant.PermCreateDatasets: true},
		keySendOnly: {tenant.PermSendEvents: true},
		keyQuery:    {tenant.PermRunQueries: true},
	}[secret]
	if perms == nil {
		return nil, tenant.ErrUnknownKey
	}
	return &tenant.Principal{KeyID: secret, Env: tenant.Environment{ID: testEnvID, Name: "test"}, Perms: perms}, nil
}

// eventsEnv is the events API over a real pipeline and a real DuckDB store.
type eventsEnv struct {
	api     *API
	store   store.Store
	pipe    *ingest.Pipeline
	handler http.Handler
}

// newEventsEnv starts the events API with a pipeline of the given memory
// budget (0: unlimited) over a DuckDB store in a temporary directory.
func newEventsEnv(tb testing.TB, budget int64) *eventsEnv {
	tb.Helper()
	st, err := duckdb.Open(duckdb.Options{Dir: tb.TempDir(), Threads: 2})
	if err != nil {
		tb.Fatal(err)
	}
	pipe := ingest.New(st, ingest.Config{MemoryBudget: budget})
	tb.Cleanup(func() {
		pipe.Close()
		if err := st.Close(); err != nil {
			tb.Error(err)
		}
	})
	api := &API{Store: st, Pipeline: pipe, Auth: testAuth{}, Now: func() time.Time { return testNow }}
	api.Log = discardLogger()
	mux := http.NewServeMux()
	api.registerEvents(mux)
	return &eventsEnv{api: api, store: st, pipe: pipe, handler: mux}
}

// post sends a request to the events API; header pairs follow the body.
func (e *eventsEnv) post(tb testing.TB, path, key string, body []byte, header ...string) *httptest.ResponseRecorder {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if key != "" {
		r.Header.Set("X-Honeycomb-Team", key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// events reads back every stored event of a dataset, oldest first.
func (e *eventsEnv) events(tb testing.TB, dataset string) []query.RawEvent {
	tb.Helper()
	slug, err := event.Slug(dataset)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := e.store.Execute(context.Background(), testEnvID, &query.Plan{
		Datasets: []string{slug},
		Start:    testNow.Add(-30 * 24 * time.Hour),
		End:      testNow.Add(30 * 24 * time.Hour),
		Limit:    100000,
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	evs := res.Events
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.Before(evs[j].Time) })
	return evs
}

// rawFields returns a stored event's fields by name.
func rawFields(ev query.RawEvent) map[string]event.Value {
	m := make(map[string]event.Value, len(ev.Fields))
	for _, f := range ev.Fields {
		if !f.Value.IsNull() {
			m[f.Key] = f.Value
		}
	}
	return m
}
