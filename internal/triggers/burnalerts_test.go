package triggers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/notify"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/triggers"
)

// harnessDerived reads derived columns from the harness's current
// database (it is reopened on a restart).
type harnessDerived struct{ h *harness }

func (d harnessDerived) DerivedColumns(ctx context.Context, env event.EnvID, datasets []string) ([]query.DerivedDefinition, error) {
	return honeycomb.DerivedSource(d.h.db).DerivedColumns(ctx, env, datasets)
}

// burnEngine is an engine whose query engine knows derived columns.
func (h *harness) burnEngine() *triggers.Engine {
	q := query.NewEngine(h.st, honeycomb.NewQueryCatalog(h.st), query.WithLogger(h.log), query.WithDerivedColumns(harnessDerived{h}))
	return triggers.New(triggers.Options{DB: h.db, Query: q, Notify: func() *notify.Deliverer { return h.d },
		Now: h.clock, Log: h.log, BaseURL: "http://waggle.test"})
}

// history writes n good requests to "shop", one every step, ending at end.
func (h *harness) history(n int, end time.Time, step time.Duration) {
	h.t.Helper()
	var evs []event.Event
	for i := range n {
		e := event.Event{Time: end.Add(-time.Duration(i) * step), Dataset: "shop", SampleRate: 1}
		e.Set("status", event.Int(200))
		e.Set("endpoint", event.String("/api/orders"))
		evs = append(evs, e)
	}
	if err := h.st.Write(context.Background(), event.Batch{Env: testEnv, Events: evs}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) waitBurnLog(id string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, err := h.db.NotifyDeliveriesByEvent(context.Background(), testEnv, triggers.BurnAlertEventName(id), 100)
		if err != nil {
			h.t.Fatal(err)
		}
		done := 0
		for _, l := range log {
			if l.Status == notify.StatusDelivered {
				done++
			}
		}
		if done >= n {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("log %+v", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) object(kind, id, parent, body string) {
	h.t.Helper()
	if _, err := h.db.CreateObject(context.Background(), meta.Object{EnvID: testEnv, Kind: kind, ID: id, Parent: parent, Body: []byte(body)}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) burnState(id string) meta.BurnAlertState {
	h.t.Helper()
	st, err := h.db.BurnAlertState(context.Background(), testEnv, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// TestBurnAlertsFireAndResolve: an SLO (99%, 30 days) over requests, 50
// of them bad in the last minute. Both burn alerts fire once (webhook
// payloads), a restart sends no duplicate, the budget_rate alert resolves
// when its hour has no bad events, the exhaustion_time one when the last 4
// hours have none.
func TestBurnAlertsFireAndResolve(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	rc := newReceiver(t, 0)
	rid := h.recipient(triggers.Recipient{Type: "webhook", Details: triggers.RecipientDetails{WebhookName: "ops", WebhookURL: rc.URL, WebhookSecret: "s3cret"}})

	// 10000 good requests over ~3 days before the last 5 hours, then 100
	// good and 50 bad ones in the last 100 s: total 10150, budget 101.5
	// bad events, 50 spent (49.3%); burn rate over 4 h = (50/150)/1% = 33.3,
	// so the rest lasts 0.507 × 43200 / 33.3 ≈ 657 minutes.
	h.history(10000, h.clock().Add(-5*time.Hour), 25*time.Second)
	h.requests(100, 200)
	h.requests(50, 503)
	if _, err := h.db.CreateDerivedColumn(ctx, meta.DerivedColumn{EnvID: testEnv, ID: "dc1", Dataset: "shop", Alias: "good_request", Expression: "LT($status, 500)"}); err != nil {
		t.Fatal(err)
	}
	h.object(meta.KindSLO, "slo1", "shop", `{"name":"Orders","description":"orders succeed","sli":{"alias":"good_request"},"time_period_days":30,"target_per_million":990000}`)
	h.object(meta.KindBurnAlert, "ba-exh", "slo1", `{"alert_type":"exhaustion_time","exhaustion_minutes":1440,"slo":{"id":"slo1"},"recipients":[{"id":"`+rid+`"}]}`)
	h.object(meta.KindBurnAlert, "ba-rate", "slo1", `{"alert_type":"budget_rate","budget_rate_window_minutes":60,"budget_rate_decrease_threshold_per_million":100000,"slo":{"id":"slo1"},"recipients":[{"id":"`+rid+`"}]}`)

	e := h.burnEngine()
	h.evaluate(e, 2)
	h.evaluate(e, 0) // same minute: not again
	got := rc.wait(t, 2)
	byType := map[string]map[string]any{}
	for _, p := range got {
		byType[p["type"].(string)] = p
	}
	x, r := byType["exhaustion_time"], byType["budget_rate"]
	if x == nil || r == nil {
		t.Fatalf("payloads %v", got)
	}
	if x["status"] != "TRIGGERED" || x["id"] != "ba-exh" || x["name"] != "Orders" || x["version"] != "v0.1.0" ||
		x["summary"] != "Triggered: Orders burn alert (exhaustion time)" || x["exhaustion_minutes"] != 1440.0 {
		t.Fatalf("exhaustion payload %v", x)
	}
	if m := x["minutes_to_exhaustion"].(float64); m < 640 || m > 670 {
		t.Fatalf("minutes_to_exhaustion %v", m)
	}
	if b := x["budget_remaining"].(float64); b < 50 || b > 51 {
		t.Fatalf("budget_remaining %v", b)
	}
	slo := x["slo"].(map[string]any)
	if slo["id"] != "slo1" || slo["name"] != "Orders" || slo["target_per_million"] != 990000.0 || slo["url"] != "http://waggle.test/1/slos/shop/slo1" {
		t.Fatalf("slo %v", slo)
	}
	if !strings.Contains(x["description"].(string), "runs out in 10h") {
		t.Fatalf("description %q", x["description"])
	}
	if r["status"] != "TRIGGERED" || r["id"] != "ba-rate" || r["budget_rate_decrease_threshold_per_million"] != 100000.0 {
		t.Fatalf("budget rate payload %v", r)
	}
	if d := r["budget_decrease_per_million"].(float64); d < 490000 || d > 495000 {
		t.Fatalf("budget_decrease_per_million %v", d)
	}
	if rc.tokens[0] != "s3cret" {
		t.Fatalf("token %q", rc.tokens[0])
	}
	if st := h.burnState("ba-rate"); !st.Triggered || st.Value < 490000 {
		t.Fatalf("state %+v", st)
	}

	// Restart mid-incident: the same minute is not evaluated again, the
	// next one (still burning) sends nothing.
	h.waitBurnLog("ba-exh", 1)
	h.waitBurnLog("ba-rate", 1)
	h.stopMeta()
	h.openMeta()
	e = h.burnEngine()
	h.evaluate(e, 0)
	h.advance(time.Minute)
	h.evaluate(e, 2)
	time.Sleep(200 * time.Millisecond)
	if n := rc.count(); n != 2 {
		t.Fatalf("%d notifications after the restart, want 2", n)
	}

	// The burn stops: an hour later only good requests; the budget_rate
	// alert resolves, the exhaustion_time one still sees the 4 h burn.
	h.advance(61 * time.Minute)
	h.requests(100, 200)
	h.evaluate(e, 2)
	got = rc.wait(t, 3)
	if p := got[2]; p["status"] != "OK" || p["id"] != "ba-rate" || p["summary"] != "Resolved: Orders burn alert (budget rate)" {
		t.Fatalf("resolve payload %v", p)
	}
	if st := h.burnState("ba-exh"); !st.Triggered {
		t.Fatalf("exhaustion state %+v", st)
	}

	// Four hours on, nothing burned in the lookback: resolved.
	h.advance(4 * time.Hour)
	h.requests(100, 200)
	h.evaluate(e, 2)
	got = rc.wait(t, 4)
	if p := got[3]; p["status"] != "OK" || p["id"] != "ba-exh" {
		t.Fatalf("resolve payload %v", p)
	}
	if _, ok := got[3]["minutes_to_exhaustion"]; ok {
		t.Fatalf("not burning: no minutes_to_exhaustion, got %v", got[3])
	}
	h.advance(time.Minute)
	h.evaluate(e, 2)
	time.Sleep(200 * time.Millisecond)
	if n := rc.count(); n != 4 {
		t.Fatalf("%d notifications, want 4", n)
	}

	// A deleted burn alert's state is forgotten.
	if err := h.db.DeleteObject(ctx, testEnv, meta.KindBurnAlert, "ba-rate"); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Minute)
	h.evaluate(e, 1)
	if _, err := h.db.BurnAlertState(ctx, testEnv, "ba-rate"); err == nil {
		t.Fatal("state of a deleted burn alert kept")
	}
}
