package honeycomb

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// newSLOHarness is the alerting harness with derived columns resolved by
// the engine, and events of a service in A's dataset "app": n events over
// the last 3 days with known durations and statuses.
func newSLOHarness(t *testing.T) (*mgmtHarness, *API) {
	h := newMgmtHarness(t)
	db, err := meta.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	a := &API{Store: h.store, Auth: h.svc, Log: discardLogger(), Alerting: &Alerting{DB: db}}
	a.Engine = query.NewEngine(h.store, NewQueryCatalog(h.store), query.WithRepository(db), query.WithDerivedColumns(DerivedSource(db)))
	h.mux = http.NewServeMux()
	a.Register(h.mux)
	h.write(h.envB, "app", map[string]event.Value{"status": event.Int(200)})
	return h, a
}

// appEvents writes the seed-like app's events and returns them.
func appEvents(t *testing.T, h *mgmtHarness, now time.Time) []event.Event {
	var evs []event.Event
	for i := 0; i < 600; i++ {
		e := event.Event{Time: now.Add(-time.Duration(i)*7*time.Minute - 30*time.Second), Dataset: "app", SampleRate: 1 + int64(i%3)}
		e.Set("duration_ms", event.Float(float64((i*37)%700)+0.5))
		if i%10 != 9 {
			e.Set("status", event.Int([]int64{200, 200, 201, 404, 500, 503}[i%6]))
		}
		evs = append(evs, e)
	}
	if err := h.store.Write(context.Background(), event.Batch{Env: h.envA.ID, Events: evs}); err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestDerivedColumnsAndSLOs(t *testing.T) {
	h, _ := newSLOHarness(t)
	now := time.Now()
	evs := appEvents(t, h, now)

	// Derived columns: create, 409 on a duplicate alias, 400 on a bad
	// expression, ?alias=, usable in queries.
	var dc, dc2 map[string]any
	h.doJSON("POST", "/1/derived_columns/app", h.adminA, `{"alias":"good_request","expression":"$duration_ms < 300 AND $status < 500","description":"fast and no 5xx"}`, 201, &dc)
	code, body := h.do("POST", "/1/derived_columns/app", h.adminA, `{"alias":"good_request","expression":"1"}`)
	if code != 409 {
		t.Fatalf("duplicate alias: %d %s", code, body)
	}
	for expr, want := range map[string]string{
		`LT($duration_ms, `:       "expected",
		`LT($nope, 1)`:            "unknown column $nope",
		`SUM($status, true)`:      "needs numbers",
		`INGEST_TIMESTAMP()`:      "not available",
		"REG_MATCH($status, `(`)": "invalid regular expression",
	} {
		code, body := h.do("POST", "/1/derived_columns/app", h.adminA, map[string]string{"alias": "x", "expression": expr})
		if code != 400 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %s, want 400 with %q", expr, code, body, want)
		}
	}
	h.doJSON("POST", "/1/derived_columns/__all__", h.adminA, `{"alias":"speed","expression":"IF(LT($duration_ms, 100), \"fast\", \"slow\")"}`, 201, &dc2)
	var one map[string]any
	h.doJSON("GET", "/1/derived_columns/app?alias=good_request", h.adminA, nil, 200, &one)
	if one["id"] != dc["id"] || one["expression"] != "$duration_ms < 300 AND $status < 500" {
		t.Fatal(one)
	}

	// In a query: breakdown by the derived column, filter on another.
	var res map[string]any
	h.doJSON("POST", "/1/queries/app", h.adminA, `{"calculations":[{"op":"COUNT"}],"breakdowns":["good_request"],"filters":[{"column":"speed","op":"=","value":"slow"}],"time_range":604800}`, 200, &res)
	var qr map[string]any
	h.doJSON("POST", "/1/query_results/app", h.adminA, map[string]any{"query_id": res["id"], "disable_series": true}, 201, &qr)
	h.doJSON("GET", "/1/query_results/app/"+qr["id"].(string), h.adminA, nil, 200, &qr)
	got := map[string]float64{}
	for _, r := range qr["data"].(map[string]any)["results"].([]any) {
		d := r.(map[string]any)["data"].(map[string]any)
		got[fmt.Sprint(d["good_request"])] = d["COUNT"].(float64)
	}
	want := map[string]float64{}
	for _, e := range evs {
		d, _ := e.Get("duration_ms")
		if d.Float() < 100 {
			continue
		}
		s, ok := e.Get("status")
		want[fmt.Sprint(d.Float() < 300 && ok && s.Int() < 500)] += float64(e.SampleRate)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("query by derived columns: %v, want %v", got, want)
	}

	// SLO: validation, then budget remaining computed independently.
	code, body = h.do("POST", "/1/slos/app", h.adminA, `{"name":"x","sli":{"alias":"speed"},"time_period_days":7,"target_per_million":990000}`)
	if code != 422 || !strings.Contains(string(body), "boolean") {
		t.Fatalf("non-boolean SLI: %d %s", code, body)
	}
	var slo map[string]any
	h.doJSON("POST", "/1/slos/app", h.adminA, `{"name":"App latency","description":"fast, no 5xx","sli":{"alias":"good_request"},"time_period_days":2,"target_per_million":800000}`, 201, &slo)
	var det map[string]any
	h.doJSON("GET", "/1/slos/app/"+slo["id"].(string)+"?detailed", h.adminA, nil, 200, &det)
	var good, bad, good4, bad4 float64
	for _, e := range evs {
		if !e.Time.After(now.Add(-48*time.Hour)) || e.Time.After(now) {
			continue
		}
		d, _ := e.Get("duration_ms")
		s, ok := e.Get("status")
		isGood := d.Float() < 300 && ok && s.Int() < 500
		w := float64(e.SampleRate)
		if isGood {
			good += w
		} else {
			bad += w
		}
		if e.Time.After(now.Add(-4 * time.Hour)) {
			if isGood {
				good4 += w
			} else {
				bad4 += w
			}
		}
	}
	wantBudget := 100 * (1 - bad/((good+bad)*0.2))
	wantCompliance := 100 * good / (good + bad)
	wantBurn := bad4 / (good4 + bad4) / 0.2
	if math.Abs(det["budget_remaining"].(float64)-wantBudget) > 1e-6 || math.Abs(det["compliance"].(float64)-wantCompliance) > 1e-6 ||
		math.Abs(det["burn_rate"].(float64)-wantBurn) > 1e-6 {
		t.Fatalf("detailed SLO %v; want budget %v compliance %v burn %v", det, wantBudget, wantCompliance, wantBurn)
	}

	// The SLI cannot be deleted while the SLO uses it.
	code, body = h.do("DELETE", "/1/derived_columns/app/"+dc["id"].(string), h.adminA, nil)
	if code != 409 || !strings.Contains(string(body), "SLI") {
		t.Fatalf("delete the SLI: %d %s", code, body)
	}

	// Burn alerts.
	var ba map[string]any
	h.doJSON("POST", "/1/burn_alerts/app", h.adminA, `{"alert_type":"budget_rate","budget_rate_window_minutes":60,"budget_rate_decrease_threshold_per_million":1000,"slo":{"id":"`+slo["id"].(string)+`"}}`, 201, &ba)
	code, body = h.do("POST", "/1/burn_alerts/app", h.adminA, `{"alert_type":"exhaustion_time","slo":{"id":"`+slo["id"].(string)+`"}}`)
	if code != 422 {
		t.Fatalf("exhaustion_time without minutes: %d %s", code, body)
	}
	var list []any
	h.doJSON("GET", "/1/burn_alerts/app?slo_id="+slo["id"].(string), h.adminA, nil, 200, &list)
	if len(list) != 1 {
		t.Fatal(list)
	}

	// Permissions and environments.
	cases := []struct {
		method, path string
		perm         tenant.Permission
	}{
		{"GET", "/1/derived_columns/app", tenant.PermManageQueries},
		{"GET", "/1/derived_columns/app/" + dc["id"].(string), tenant.PermManageQueries},
		{"POST", "/1/derived_columns/__all__", tenant.PermManageQueries},
		{"DELETE", "/1/derived_columns/__all__/" + dc2["id"].(string), tenant.PermManageQueries},
		{"GET", "/1/slos/app", tenant.PermManageSLOs},
		{"GET", "/1/slos/app/" + slo["id"].(string) + "?detailed", tenant.PermManageSLOs},
		{"PUT", "/1/slos/app/" + slo["id"].(string), tenant.PermManageSLOs},
		{"DELETE", "/1/slos/app/" + slo["id"].(string), tenant.PermManageSLOs},
		{"GET", "/1/burn_alerts/app", tenant.PermManageSLOs},
		{"GET", "/1/burn_alerts/app/" + ba["id"].(string), tenant.PermManageSLOs},
		{"DELETE", "/1/burn_alerts/app/" + ba["id"].(string), tenant.PermManageSLOs},
	}
	for _, c := range cases {
		var others []tenant.Permission
		for _, p := range envPermissions() {
			if p != c.perm {
				others = append(others, p)
			}
		}
		code, body := h.do(c.method, c.path, h.key(h.envA, others...), `{}`)
		if code != 401 || !strings.Contains(string(body), "API key is missing the permission: "+string(c.perm)) {
			t.Errorf("%s %s without %s: %d %s", c.method, c.path, c.perm, code, body)
		}
		if !strings.Contains(c.path, "/"+event.AllDatasets) || c.method != "POST" {
			code, body = h.do(c.method, c.path, h.adminB, `{}`)
			wantB := 404
			if c.method == "GET" && (c.path == "/1/derived_columns/app" || c.path == "/1/slos/app" || c.path == "/1/burn_alerts/app") {
				wantB = 200
			}
			if code != wantB || (wantB == 200 && strings.TrimSpace(string(body)) != "[]") {
				t.Errorf("%s %s from environment B: %d %s", c.method, c.path, code, body)
			}
		}
	}
	// Still there for A.
	h.doJSON("GET", "/1/slos/app/"+slo["id"].(string), h.adminA, nil, 200, &det)
	h.doJSON("GET", "/1/derived_columns/__all__/"+dc2["id"].(string), h.adminA, nil, 200, &one)
}
