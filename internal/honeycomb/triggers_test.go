package honeycomb

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// newAlertingHarness is the management harness with the alerting endpoints
// and the query API, over one metadata database.
func newAlertingHarness(t *testing.T) *mgmtHarness {
	h := newMgmtHarness(t)
	db, err := meta.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	a := &API{Store: h.store, Auth: h.svc, Log: discardLogger(), Alerting: &Alerting{DB: db}}
	a.Engine = query.NewEngine(h.store, NewQueryCatalog(h.store), query.WithRepository(db))
	h.mux = http.NewServeMux()
	a.Register(h.mux)
	h.write(h.envA, "shop", map[string]event.Value{"status": event.Int(500), "endpoint": event.String("/orders"), "duration_ms": event.Float(12)})
	h.write(h.envB, "shop", map[string]event.Value{"status": event.Int(200)})
	return h
}

// TestAlertingPermissionsAndEnvironments: every endpoint refuses a key
// without its permission (401, Honeycomb's message) and another
// environment's objects are 404.
func TestAlertingPermissionsAndEnvironments(t *testing.T) {
	h := newAlertingHarness(t)
	var q map[string]any
	h.doJSON("POST", "/1/queries/shop", h.adminA, `{"calculations":[{"op":"COUNT"},{"op":"P95","column":"duration_ms"}],"breakdowns":["endpoint"],"time_range":7200}`, 200, &q)
	qid := q["id"].(string)
	var rc, tr, board, an, mk, ms map[string]any
	h.doJSON("POST", "/1/recipients", h.adminA, `{"type":"webhook","details":{"webhook_name":"ops","webhook_url":"http://127.0.0.1:9/hook","webhook_secret":"s"}}`, 201, &rc)
	h.doJSON("POST", "/1/triggers/shop", h.adminA, `{"name":"errors","query":{"calculations":[{"op":"COUNT"}],"filters":[{"column":"status","op":">=","value":500}]},"threshold":{"op":">","value":10},"frequency":60,"recipients":[{"id":"`+rc["id"].(string)+`"}]}`, 201, &tr)
	h.doJSON("POST", "/1/query_annotations/shop", h.adminA, `{"name":"Homework","description":"COUNT and P95 by endpoint","query_id":"`+qid+`"}`, 201, &an)
	h.doJSON("POST", "/1/boards", h.adminA, `{"name":"Week 2","panels":[{"type":"query","query_panel":{"dataset":"shop","query_id":"`+qid+`","query_annotation_id":"`+an["id"].(string)+`","query_style":"combo"}},{"type":"text","text_panel":{"content":"hi"}}],"tags":[{"key":"team","value":"backend"}]}`, 201, &board)
	h.doJSON("POST", "/1/markers/shop", h.adminA, `{"message":"deploy #1","type":"deploy","start_time":1471040808}`, 201, &mk)
	h.doJSON("POST", "/1/marker_settings/shop", h.adminA, `{"type":"deploy","color":"#F96E11"}`, 201, &ms)

	cases := []struct {
		method, path string
		perm         tenant.Permission
	}{
		{"GET", "/1/recipients", tenant.PermManageRecipients},
		{"GET", "/1/recipients/" + rc["id"].(string), tenant.PermManageRecipients},
		{"GET", "/1/recipients/" + rc["id"].(string) + "/triggers", tenant.PermManageRecipients},
		{"GET", "/1/triggers/shop", tenant.PermManageTriggers},
		{"GET", "/1/triggers/shop/" + tr["id"].(string), tenant.PermManageTriggers},
		{"GET", "/1/triggers/shop/" + tr["id"].(string) + "/deliveries", tenant.PermManageTriggers},
		{"GET", "/1/query_annotations/shop/" + an["id"].(string), tenant.PermManageQueries},
		{"GET", "/1/boards/" + board["id"].(string), tenant.PermManageBoards},
		{"GET", "/1/boards/" + board["id"].(string) + "/views", tenant.PermManageBoards},
		{"PUT", "/1/markers/shop/" + mk["id"].(string), tenant.PermManageMarkers},
		{"GET", "/1/marker_settings/shop/" + ms["id"].(string), tenant.PermManageMarkers},
	}
	for _, c := range cases {
		var others []tenant.Permission
		for _, p := range envPermissions() {
			if p != c.perm {
				others = append(others, p)
			}
		}
		without := h.key(h.envA, others...)
		code, body := h.do(c.method, c.path, without, `{}`)
		if code != 401 || !strings.Contains(string(body), "API key is missing the permission: "+string(c.perm)) {
			t.Errorf("%s %s without %s: %d %s", c.method, c.path, c.perm, code, body)
		}
		want := 404
		if c.path == "/1/recipients" || c.path == "/1/triggers/shop" {
			want = 200 // B's own (empty) lists
		}
		if code, body := h.do(c.method, c.path, h.adminB, `{"message":"x"}`); code != want {
			t.Errorf("%s %s from environment B: %d %s", c.method, c.path, code, body)
		}
		if code, body := h.do(c.method, c.path, "nope", nil); code != 401 {
			t.Errorf("%s %s with an unknown key: %d %s", c.method, c.path, code, body)
		}
	}
	// B lists nothing of A's.
	var list []any
	h.doJSON("GET", "/1/boards", h.adminB, nil, 200, &list)
	if len(list) != 0 {
		t.Fatal(list)
	}
	h.doJSON("GET", "/1/recipients", h.adminB, nil, 200, &list)
	if len(list) != 0 {
		t.Fatal(list)
	}
}

// TestAlertingShapes: boards, markers, annotations, recipients and triggers
// round-trip in Honeycomb's shapes; markers follow Honeycomb's PUT/DELETE
// semantics; query runs are in the history.
func TestAlertingShapes(t *testing.T) {
	h := newAlertingHarness(t)
	var q map[string]any
	h.doJSON("POST", "/1/queries/shop", h.adminA, `{"calculations":[{"op":"COUNT"},{"op":"P95","column":"duration_ms"}],"breakdowns":["endpoint"],"time_range":7200}`, 200, &q)
	qid := q["id"].(string)

	var an map[string]any
	h.doJSON("POST", "/1/query_annotations/shop", h.adminA, `{"name":"Homework","description":"d","query_id":"`+qid+`"}`, 201, &an)
	golden(t, an, `{"created-at":"*","description":"d","id":"*","name":"Homework","query_id":"`+qid+`","source":"query","updated-at":"*"}`)

	var b map[string]any
	h.doJSON("POST", "/1/boards", h.adminA, `{"name":"Week 2","description":"homework","panels":[{"type":"query","position":{"x_coordinate":0,"y_coordinate":0,"height":6,"width":6},"query_panel":{"dataset":"shop","query_id":"`+qid+`","query_style":"graph","visualization_settings":{"utc_xaxis":true,"hide_markers":false,"hide_hovers":false,"overlaid_charts":false,"hide_compare":false,"charts":[{"chart_type":"line","chart_index":0,"omit_missing_values":false,"log_scale":true}]}}},{"type":"text","text_panel":{"content":"# notes"}}],"tags":[{"key":"team","value":"backend"}],"preset_filters":[{"column":"endpoint","alias":"Endpoint"}]}`, 201, &b)
	golden(t, b, `{"description":"homework","id":"*","layout_generation":"manual","links":{"board_url":"*"},"name":"Week 2","panels":[{"position":{"height":6,"width":6,"x_coordinate":0,"y_coordinate":0},"query_panel":{"dataset":"shop","query_id":"`+qid+`","query_style":"graph","visualization_settings":{"charts":[{"chart_index":0,"chart_type":"line","log_scale":true,"omit_missing_values":false}],"hide_compare":false,"hide_hovers":false,"hide_markers":false,"overlaid_charts":false,"utc_xaxis":true}},"type":"query"},{"text_panel":{"content":"# notes"},"type":"text"}],"preset_filters":[{"alias":"Endpoint","column":"endpoint"}],"tags":[{"key":"team","value":"backend"}],"type":"flexible"}`)
	var got map[string]any
	h.doJSON("GET", "/1/boards/"+b["id"].(string), h.adminA, nil, 200, &got)
	golden(t, got, mustJSON(t, b))
	var v map[string]any
	h.doJSON("POST", "/1/boards/"+b["id"].(string)+"/views", h.adminA, `{"name":"errors","filters":[{"column":"status","operation":">=","value":500}]}`, 201, &v)
	golden(t, v, `{"filters":[{"column":"status","operation":">=","value":500}],"id":"*","name":"errors"}`)
	if code, _ := h.do("POST", "/1/boards", h.adminA, `{"name":"x","panels":[{"type":"query","query_panel":{"dataset":"shop","query_id":"nope"}}]}`); code != 422 {
		t.Fatalf("board with an unknown query: %d", code)
	}

	var m map[string]any
	h.doJSON("POST", "/1/markers/shop", h.adminA, `{"message":"backend deploy #123","type":"deploy","start_time":1471040808,"url":"http://ci/123"}`, 201, &m)
	golden(t, m, `{"created_at":"*","id":"*","message":"backend deploy #123","start_time":1471040808,"type":"deploy","updated_at":"*","url":"http://ci/123"}`)
	got = nil
	h.doJSON("PUT", "/1/markers/shop/"+m["id"].(string), h.adminA, `{"message":"renamed","start_time":1471040808}`, 200, &got)
	golden(t, got, `{"created_at":"*","id":"*","message":"renamed","start_time":1471040808,"updated_at":"*"}`) // type and url erased
	h.doJSON("DELETE", "/1/markers/shop/"+m["id"].(string), h.adminA, nil, 200, &got)
	if got["message"] != "renamed" {
		t.Fatal(got)
	}
	var env map[string]any
	h.doJSON("POST", "/1/markers/__all__", h.adminA, `{"message":"env-wide"}`, 201, &env)
	var ms []map[string]any
	h.doJSON("GET", "/1/markers/shop", h.adminA, nil, 200, &ms)
	if len(ms) != 0 {
		t.Fatal("dataset markers hold an environment marker", ms)
	}

	// Recipients and triggers, and bad input.
	var rc map[string]any
	h.doJSON("POST", "/1/recipients", h.adminA, `{"type":"slack","details":{"slack_channel":"#ops","slack_webhook_url":"https://hooks.slack.test/T/B/x"}}`, 201, &rc)
	golden(t, rc, `{"created_at":"*","details":{"slack_channel":"#ops","slack_webhook_url":"https://hooks.slack.test/T/B/x"},"id":"*","type":"slack","updated_at":"*"}`)
	for _, bad := range []string{
		`{"type":"webhook","details":{"webhook_url":"not a url"}}`,
		`{"type":"webhook","details":{"webhook_url":"ftp://x/y"}}`,
		`{"type":"email","details":{"email_address":"nobody"}}`,
		`{"type":"carrier-pigeon","details":{}}`,
		`{"type":"webhook","details":{"webhook_url":"http://x","webhook_headers":[{"header":"User-Agent","value":"x"}]}}`,
		`{"type":"webhook","details":{"webhook_url":"http://x","webhook_payloads":{"payload_templates":{"trigger":{"body":"{{ .Name "}}}}}`,
	} {
		if code, body := h.do("POST", "/1/recipients", h.adminA, bad); code != 422 {
			t.Errorf("recipient %s: %d %s", bad, code, body)
		}
	}
	var tr map[string]any
	h.doJSON("POST", "/1/triggers/shop", h.adminA, `{"name":"5xx","description":"errors","query":{"calculations":[{"op":"COUNT"}],"filters":[{"column":"status","op":">=","value":500}],"breakdowns":["endpoint"]},"threshold":{"op":">","value":10},"frequency":300,"recipients":[{"id":"`+rc["id"].(string)+`","details":{"pagerduty_severity":"warning"}}]}`, 201, &tr)
	golden(t, tr, `{"alert_type":"on_change","created_at":"*","dataset_slug":"shop","description":"errors","disabled":false,"evaluation_schedule_type":"frequency","frequency":300,"id":"*","name":"5xx","query":{"breakdowns":["endpoint"],"calculations":[{"op":"COUNT"}],"filters":[{"column":"status","op":">=","value":500}],"time_range":300},"recipients":[{"details":{"pagerduty_severity":"warning"},"id":"`+rc["id"].(string)+`"}],"tags":[],"threshold":{"exceeded_limit":1,"op":">","value":10},"triggered":false,"updated_at":"*"}`)
	var rt []any
	h.doJSON("GET", "/1/recipients/"+rc["id"].(string)+"/triggers", h.adminA, nil, 200, &rt)
	if len(rt) != 1 {
		t.Fatal(rt)
	}
	if code, _ := h.do("DELETE", "/1/recipients/"+rc["id"].(string), h.adminA, nil); code != 409 {
		t.Fatalf("delete a used recipient: %d", code)
	}
	base := `"threshold":{"op":">","value":1},"frequency":60`
	for _, bad := range []string{
		`{"name":"x","query":{"calculations":[{"op":"COUNT"}],"filters":[{"column":"nope","op":"=","value":1}]},` + base + `}`,
		`{"name":"x","query":{"calculations":[{"op":"HEATMAP","column":"duration_ms"}]},` + base + `}`,
		`{"name":"x","query":{"calculations":[{"op":"COUNT"},{"op":"MAX","column":"duration_ms"}]},` + base + `}`,
		`{"name":"x","query":{"calculations":[{"op":"COUNT"}],"time_range":600},` + base + `}`,
		`{"name":"x","query":{"calculations":[{"op":"COUNT"}],"limit":10},` + base + `}`,
		`{"name":"x","query":{"calculations":[{"op":"COUNT"}]},"threshold":{"op":">","value":1},"frequency":90}`,
		`{"name":"x","query":{"calculations":[{"op":"COUNT"}]},"threshold":{"op":"!=","value":1},"frequency":60}`,
		`{"name":"x","query":{"calculations":[{"op":"COUNT"}]},"threshold":{"op":">","value":1,"exceeded_limit":6},"frequency":60}`,
		`{"name":"","query":{"calculations":[{"op":"COUNT"}]},` + base + `}`,
		`{"name":"x","query":{"calculations":[{"op":"COUNT"}]},` + base + `,"recipients":[{"id":"999"}]}`,
		`{"name":"x","query":{"calculations":[{"op":"COUNT"}],"bogus":1},` + base + `}`,
		`{"name":"x","query_id":"nope",` + base + `}`,
	} {
		if code, body := h.do("POST", "/1/triggers/shop", h.adminA, bad); code != 422 && code != 400 {
			t.Errorf("trigger %s: %d %s", bad, code, body)
		}
	}
	if code, _ := h.do("POST", "/1/triggers/nope", h.adminA, `{"name":"x"}`); code != 404 {
		t.Fatalf("trigger on an unknown dataset: %d", code)
	}

	// Query history: runs of the query API, newest first, per key.
	h.doJSON("POST", "/1/query_results/shop", h.adminA, `{"query_id":"`+qid+`"}`, 201, nil)
	h.doJSON("POST", "/1/query_results/shop", h.adminA, `{"query_id":"`+qid+`","disable_series":true}`, 201, nil)
	var hist []map[string]any
	h.doJSON("GET", "/1/query_history", h.adminA, nil, 200, &hist)
	if len(hist) != 2 || hist[0]["id"].(float64) <= hist[1]["id"].(float64) || hist[0]["query_id"] != qid {
		t.Fatal(hist)
	}
	h.doJSON("GET", "/1/query_history", h.adminB, nil, 200, &hist)
	if len(hist) != 0 {
		t.Fatal("history crosses environments", hist)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// golden compares got with want (JSON); "*" in want matches any value.
func golden(t *testing.T, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !match(got, w) {
		t.Fatalf("got  %s\nwant %s", mustJSON(t, got), want)
	}
}

func match(got, want any) bool {
	if want == "*" {
		return got != nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if !match(g[k], v) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !match(g[i], w[i]) {
				return false
			}
		}
		return true
	default:
		return mustJSONAny(got) == mustJSONAny(want)
	}
}

func mustJSONAny(v any) string { b, _ := json.Marshal(v); return string(b) }
