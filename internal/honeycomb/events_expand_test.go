package honeycomb

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// withEvents makes h serve the events API next to the management API, from
// one API value (one settings cache).
func (h *mgmtHarness) withEvents() *API {
	h.tb.Helper()
	pipe := ingest.New(h.store, ingest.Config{MemoryBudget: 64 << 20})
	h.tb.Cleanup(pipe.Close)
	a := &API{Store: h.store, Pipeline: pipe, Auth: h.svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
	h.mux = http.NewServeMux()
	a.registerManagement(h.mux)
	a.registerEvents(h.mux)
	return a
}

// columnTypes lists a dataset's columns by name.
func (h *mgmtHarness) columnTypes(dataset string) map[string]string {
	h.tb.Helper()
	var cols []columnJSON
	h.doJSON("GET", "/1/columns/"+dataset, h.adminA, nil, http.StatusOK, &cols)
	out := map[string]string{}
	for _, c := range cols {
		out[c.KeyName] = c.Type
	}
	return out
}

func TestEventsExpandJSONDepth(t *testing.T) {
	h := newMgmtHarness(t)
	a := h.withEvents()
	send := func(path, body string) {
		t.Helper()
		code, raw := h.do("POST", path, h.adminA, body)
		if code != http.StatusOK {
			t.Fatalf("POST %s = %d %s", path, code, raw)
		}
	}
	nested := `{"req":{"method":"GET","headers":{"host":"x"}},"n":1}`
	// Depth 0 (default): nested objects are JSON strings.
	send("/1/events/flat", nested)
	if got := h.columnTypes("flat"); len(got) != 2 || got["req"] != "string" {
		t.Fatalf("depth 0 columns: %v", got)
	}
	// A dataset created with expand_json_depth 1.
	h.doJSON("POST", "/1/datasets", h.adminA, map[string]any{"name": "deep", "expand_json_depth": 1}, http.StatusCreated, nil)
	send("/1/batch/deep", `[{"data":`+nested+`}]`)
	got := h.columnTypes("deep")
	if len(got) != 3 || got["req.method"] != "string" || got["req.headers"] != "string" || got["n"] != "integer" {
		t.Fatalf("depth 1 columns: %v", got)
	}
	// Raising it takes effect at once, though the setting is cached.
	h.doJSON("PUT", "/1/datasets/deep", h.adminA, map[string]any{"expand_json_depth": 2}, http.StatusOK, nil)
	send("/1/events/DEEP", nested)
	if got := h.columnTypes("deep"); got["req.headers.host"] != "string" {
		t.Fatalf("depth 2 columns: %v", got)
	}
	// Other environments have their own settings.
	code, raw := h.do("POST", "/1/events/deep", h.adminB, nested)
	if code != http.StatusOK {
		t.Fatalf("env B: %d %s", code, raw)
	}
	var colsB []columnJSON
	h.doJSON("GET", "/1/columns/deep", h.adminB, nil, http.StatusOK, &colsB)
	if len(colsB) != 2 {
		t.Fatalf("env B columns: %+v", colsB)
	}
	// The cache answers without the database: a setting changed behind its
	// back (as by another node) shows only once the entry is read again.
	ctx := context.Background()
	if err := h.svc.SetDatasetSettings(ctx, h.envA.ID, "flat", tenant.DatasetSettings{ExpandJSONDepth: 3}); err != nil {
		t.Fatal(err)
	}
	if d, err := a.expandDepth(ctx, h.envA.ID, "flat"); err != nil || d != 0 {
		t.Fatalf("cached depth = %d, %v, want the cached 0", d, err)
	}
	a.expandCache.put(expandKey{h.envA.ID, "flat"}, expandEntry{depth: 0, read: time.Now().Add(-expandTTL)})
	if d, err := a.expandDepth(ctx, h.envA.ID, "flat"); err != nil || d != 3 {
		t.Fatalf("depth after the entry expired = %d, %v, want 3", d, err)
	}
	// Deleting the dataset forgets its setting.
	h.doJSON("DELETE", "/1/datasets/deep", h.adminA, nil, http.StatusAccepted, nil)
	send("/1/events/deep", nested)
	if got := h.columnTypes("deep"); len(got) != 2 || got["req"] != "string" {
		t.Fatalf("columns of a recreated dataset: %v", got)
	}
}

// TestEventsTimePolicy: expired events are acknowledged and dropped, events
// from the far future are stored at the receive time.
func TestEventsTimePolicy(t *testing.T) {
	e := newEventsEnv(t, 64<<20)
	ctx := context.Background()
	if _, _, err := e.store.CreateDataset(ctx, testEnvID, store.DatasetInfo{Name: "long", Retention: 200 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	old := testNow.Add(-90 * 24 * time.Hour).Format(time.RFC3339Nano)
	future := testNow.Add(5 * 365 * 24 * time.Hour).Format(time.RFC3339Nano)
	body := `[{"data":{"k":"now"}},{"data":{"k":"old"},"time":"` + old + `"},{"data":{"k":"future"},"time":"` + future + `"}]`
	for _, ds := range []string{"short", "long"} {
		w := e.post(t, "/1/batch/"+ds, keyFull, []byte(body))
		checkResponse(t, w, http.StatusOK, `[{"status":202},{"status":202},{"status":202}]`)
	}
	// The single-event endpoint acknowledges an expired event too.
	w := e.post(t, "/1/events/short", keyFull, []byte(`{"k":"old single"}`), eventTimeHeader, old)
	checkResponse(t, w, http.StatusOK, ``)
	for ds, wantOld := range map[string]bool{"short": false, "long": true} {
		r, err := e.store.Execute(ctx, testEnvID, &query.Plan{Datasets: []string{ds}, Start: testNow.Add(-365 * 24 * time.Hour), End: testNow.Add(10 * 365 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]query.RawEvent{}
		for _, ev := range r.Events {
			for _, f := range ev.Fields {
				if f.Key == "k" {
					got[f.Value.Str()] = ev
				}
			}
		}
		if _, ok := got["old"]; ok != wantOld || len(got) != map[bool]int{true: 3, false: 2}[wantOld] {
			t.Errorf("%s: events %v", ds, got)
		}
		fut, ok := got["future"]
		if !ok || !fut.Time.Equal(testNow) {
			t.Fatalf("%s: future event %+v", ds, fut)
		}
		found := false
		for _, f := range fut.Fields {
			if f.Key == store.OriginalTimeField && f.Value.Str() == future {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: future event lacks its original time: %+v", ds, fut.Fields)
		}
	}
}
