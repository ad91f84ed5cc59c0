package rollbar

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestCapturesGolden replays every captured SDK payload (pyrollbar/Flask,
// rollbar-go, rollbar.js) and checks Rollbar's answer, the item and the
// stored occurrence.
func TestCapturesGolden(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	cases := []struct {
		file, title, level, framework string
	}{
		{"001_pyrollbar_trace.json", "ZeroDivisionError: division by zero", "error", "flask"},
		{"002_pyrollbar_trace_chain.json", "ValueError: bad config", "error", "flask"},
		{"003_pyrollbar_message.json", "", "", ""},
		{"004_pyrollbar_message.json", "My title", "", ""},
		{"005_rollbar_rollbar-go_trace_chain.json", "load config: my error code=42", "error", ""},
		{"009_node_rollbar_message.json", "", "", ""},
		{"010_node_rollbar_trace_chain.json", "Error: outer failed", "error", "node-js"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			payload, _ := capture(t, c.file)
			var sent struct {
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal(payload, &sent); err != nil {
				t.Fatal(err)
			}
			status, out := e.post(t, e.serverTok, payload)
			if status != 200 || out["err"].(float64) != 0 {
				t.Fatalf("post: %d %v", status, out)
			}
			res := out["result"].(map[string]any)
			if res["id"] != nil {
				t.Errorf("result.id = %v, want null", res["id"])
			}
			uuid, _ := res["uuid"].(string)
			if want, ok := sent.Data["uuid"].(string); ok && uuid != want {
				t.Errorf("uuid %q, want the payload's %q", uuid, want)
			}
			if len(uuid) != 36 {
				t.Errorf("uuid %q", uuid)
			}
			var got struct {
				Result itemView `json:"result"`
			}
			resp := e.do(t, http.MethodGet, "/api/1/item/?uuid="+uuid, e.readTok, nil, &got)
			if resp.StatusCode != 200 {
				t.Fatalf("item by uuid: %d", resp.StatusCode)
			}
			it := got.Result
			if c.title != "" && it.Title != c.title {
				t.Errorf("title %q, want %q", it.Title, c.title)
			}
			if c.level != "" && it.Level != c.level {
				t.Errorf("level %q, want %q", it.Level, c.level)
			}
			if c.framework != "" && it.Framework != c.framework {
				t.Errorf("framework %q, want %q", it.Framework, c.framework)
			}
			if it.Environment != sent.Data["environment"] {
				t.Errorf("environment %q, want %q", it.Environment, sent.Data["environment"])
			}
			inst := e.instances(t, it.ID)
			if len(inst) == 0 {
				t.Fatal("no instances")
			}
			data := inst[0]["data"].(map[string]any)
			if data["uuid"] != uuid || data["environment"] != sent.Data["environment"] {
				t.Errorf("instance data: uuid %v environment %v", data["uuid"], data["environment"])
			}
			// The same payload again (same uuid) is dropped, as Rollbar does;
			// payloads without uuid get a new one and count again.
			status, out = e.post(t, e.serverTok, payload)
			if status != 200 {
				t.Fatalf("repost: %d %v", status, out)
			}
			resp = e.do(t, http.MethodGet, "/api/1/item/"+itoa(it.ID), e.readTok, nil, &got)
			want := int64(1)
			if _, ok := sent.Data["uuid"]; !ok {
				want = 2
			}
			if got.Result.TotalOccurrences != want {
				t.Errorf("total_occurrences after repost %d, want %d", got.Result.TotalOccurrences, want)
			}
		})
	}
}

// goPayload is a rollbar-go shaped error (frames innermost first, with the
// SDK's and the runtime's frames).
func goPayload(class, msg, fn string, line int) []byte {
	return []byte(fmt.Sprintf(`{"data":{"body":{"telemetry":[],"trace_chain":[{"exception":{"class":%q,"message":%q},
	"frames":[{"filename":"/srv/go/rollbar.go","method":"rollbar-go.Log","lineno":479},
	{"filename":"/srv/goapp/main.go","method":%q,"lineno":%d},
	{"filename":"/srv/goapp/main.go","method":"main.main","lineno":28},
	{"filename":"/usr/local/go/src/runtime/proc.go","method":"runtime.main","lineno":290}]}]},
	"environment":"production","language":"go","level":"error","notifier":{"name":"rollbar/rollbar-go","version":"1.2.0"},
	"platform":"linux","server":{"host":"vm","root":"goapp"},"title":%q}}`, class, msg, fn, line, msg))
}

func pyPayload(class, msg, method string, line int, extra string) []byte {
	return []byte(fmt.Sprintf(`{"access_token":"x","data":{"environment":"staging","level":"error","language":"python 3.11.7",
	"notifier":{"name":"pyrollbar"},"code_version":"1.2.3","framework":"flask",
	"body":{"trace":{"frames":[{"filename":"/srv/app/pyapp.py","lineno":19,"method":"boom"},
	{"filename":"/srv/app/pyapp.py","lineno":%d,"method":%q}],"exception":{"class":%q,"message":%q}}},
	"server":{"root":"/srv/app"}%s}}`, line, method, class, msg, extra))
}

func msgPayload(body, level, extra string) []byte {
	return []byte(fmt.Sprintf(`{"data":{"environment":"production","level":%q,"body":{"message":{"body":%q}}%s}}`, level, body, extra))
}

func TestGrouping(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	post := func(p []byte) {
		t.Helper()
		if status, out := e.post(t, e.serverTok, p); status != 200 {
			t.Fatalf("post: %d %v", status, out)
		}
	}
	// The same error thrown repeatedly (line numbers shift between
	// deploys, messages carry data) is one item.
	for i := range 5 {
		post(pyPayload("ZeroDivisionError", "division by zero", "helper", 15+i, ""))
		post(goPayload("*errors.errorString", fmt.Sprintf("user %d not found", 1000+i), "main.load", 40+i))
		post(msgPayload(fmt.Sprintf("Order 12%d3 failed at 2026-01-0%dT10:00:00Z", i, i+1), "warning", ""))
	}
	// Different errors are different items.
	post(pyPayload("KeyError", "'missing'", "helper", 15, ""))                   // other class
	post(pyPayload("ZeroDivisionError", "division by zero", "other_fn", 15, "")) // other place
	post(goPayload("*errors.errorString", "connection refused", "main.load", 40))
	post(msgPayload("Hello World!", "warning", ""))
	post(msgPayload("HTTP 503 from upstream", "error", ""))
	post(msgPayload("HTTP 404 from upstream", "error", ""))
	// A client fingerprint wins.
	post(msgPayload("first text", "info", `,"fingerprint":"my-fp"`))
	post(msgPayload("other text", "info", `,"fingerprint":"my-fp"`))
	post(pyPayload("KeyError", "'missing'", "helper", 15, `,"fingerprint":"my-fp"`))

	items := e.listItems(t, "")
	byTitle := map[string]itemView{}
	for _, it := range items {
		byTitle[it.Title] = it
	}
	want := map[string]int64{
		"ZeroDivisionError: division by zero":       5,
		"user 1000 not found":                       5,
		"Order 1203 failed at 2026-01-01T10:00:00Z": 5,
		"KeyError: 'missing'":                       1,
		"connection refused":                        1,
		"Hello World!":                              1,
		"HTTP 503 from upstream":                    1,
		"HTTP 404 from upstream":                    1,
		"first text":                                3,
	}
	// Two ZeroDivisionError items exist (helper and other_fn); check the
	// counts of the titles separately.
	zero := 0
	for _, it := range items {
		if it.Title == "ZeroDivisionError: division by zero" {
			zero++
		}
	}
	if zero != 2 {
		t.Errorf("%d ZeroDivisionError items, want 2 (one per place)", zero)
	}
	if len(items) != len(want)+1 {
		for _, it := range items {
			t.Logf("item #%d %q ×%d hash %s", it.Counter, it.Title, it.TotalOccurrences, it.Hash)
		}
		t.Fatalf("%d items, want %d", len(items), len(want)+1)
	}
	for title, n := range want {
		it, ok := byTitle[title]
		if !ok {
			t.Errorf("no item %q", title)
			continue
		}
		if title == "ZeroDivisionError: division by zero" {
			continue
		}
		if it.TotalOccurrences != n {
			t.Errorf("%q: %d occurrences, want %d", title, it.TotalOccurrences, n)
		}
	}
	if it := byTitle["first text"]; it.Hash != "my-fp" || it.Level != "info" {
		t.Errorf("fingerprinted item: hash %q level %q", it.Hash, it.Level)
	}
	// Counters number the items 1..n in order of creation.
	seen := map[int64]bool{}
	for _, it := range items {
		if it.Counter < 1 || it.Counter > int64(len(items)) || seen[it.Counter] {
			t.Errorf("counter %d", it.Counter)
		}
		seen[it.Counter] = true
	}
	// The level of an item is its first occurrence's.
	if it := byTitle["Order 1203 failed at 2026-01-01T10:00:00Z"]; it.Level != "warning" {
		t.Errorf("level %q", it.Level)
	}
}

func TestItemLifecycle(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	p := func(version string) []byte {
		return []byte(`{"data":{"environment":"production","code_version":"` + version + `","body":{"trace":{"frames":[{"filename":"a.py","method":"f"}],"exception":{"class":"E","message":"boom"}}}}}`)
	}
	if s, out := e.post(t, e.serverTok, p("1.0.0")); s != 200 {
		t.Fatal(s, out)
	}
	it := e.listItems(t, "")[0]
	var got struct {
		Err    int            `json:"err"`
		Result map[string]any `json:"result"`
	}
	// Resolve in 1.2.0: an occurrence from 1.1.9 does not reactivate it, one
	// from 1.2.0 does.
	resp := e.do(t, http.MethodPatch, "/api/1/item/"+itoa(it.ID), e.writeTok, []byte(`{"status":"resolved","resolved_in_version":"1.2.0"}`), &got)
	if resp.StatusCode != 200 || got.Result["status"] != "resolved" {
		t.Fatalf("patch: %d %v", resp.StatusCode, got)
	}
	e.post(t, e.serverTok, p("1.1.9"))
	if s := e.listItems(t, "")[0]; s.Status != "resolved" || s.TotalOccurrences != 2 {
		t.Fatalf("after older version: %+v", s)
	}
	e.post(t, e.serverTok, p("v1.2.0"))
	if s := e.listItems(t, "")[0]; s.Status != "active" {
		t.Fatalf("after new version: %+v", s)
	}
	// Muted stays muted.
	e.do(t, http.MethodPatch, "/api/1/item/"+itoa(it.ID), e.writeTok, []byte(`{"status":"muted"}`), &got)
	e.post(t, e.serverTok, p("2.0.0"))
	if s := e.listItems(t, ""); s[0].Status != "muted" || s[0].TotalOccurrences != 4 {
		t.Fatalf("muted: %+v", s[0])
	}
	// Filters.
	if n := len(e.listItems(t, "status=active")); n != 0 {
		t.Errorf("status=active: %d items", n)
	}
	if n := len(e.listItems(t, "status=muted&level=error&environment=production")); n != 1 {
		t.Errorf("status=muted: %d items", n)
	}
	// Title and level edits; a read token may not write; 404s.
	resp = e.do(t, http.MethodPatch, "/api/1/item/"+itoa(it.ID), e.writeTok, []byte(`{"title":"Renamed","level":"critical"}`), &got)
	if resp.StatusCode != 200 {
		t.Fatalf("patch title: %d", resp.StatusCode)
	}
	var one struct {
		Result itemView `json:"result"`
	}
	e.do(t, http.MethodGet, "/api/1/item/"+itoa(it.ID), e.readTok, nil, &one)
	if one.Result.Title != "Renamed" || one.Result.Level != "critical" || len(one.Result.CodeVersions) != 4 {
		t.Errorf("after patch: %+v", one.Result)
	}
	if resp := e.do(t, http.MethodPatch, "/api/1/item/"+itoa(it.ID), e.readTok, []byte(`{"status":"resolved"}`), nil); resp.StatusCode != 403 {
		t.Errorf("patch with a read token: %d", resp.StatusCode)
	}
	if resp := e.do(t, http.MethodGet, "/api/1/item/999999", e.readTok, nil, nil); resp.StatusCode != 404 {
		t.Errorf("missing item: %d", resp.StatusCode)
	}
	// By counter: 301 to the item.
	var red struct {
		Result map[string]any `json:"result"`
	}
	resp = e.do(t, http.MethodGet, "/api/1/item_by_counter/1", e.readTok, nil, &red)
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/api/1/item/"+itoa(it.ID) {
		t.Errorf("by counter: %d %s %v", resp.StatusCode, resp.Header.Get("Location"), red)
	}
	// Instances and one instance.
	inst := e.instances(t, it.ID)
	if len(inst) != 4 {
		t.Fatalf("%d instances", len(inst))
	}
	id := int64(inst[0]["id"].(float64))
	var oneInst struct {
		Result map[string]any `json:"result"`
	}
	resp = e.do(t, http.MethodGet, "/api/1/instance/"+itoa(id), e.readTok, nil, &oneInst)
	if resp.StatusCode != 200 || int64(oneInst.Result["item_id"].(float64)) != it.ID {
		t.Errorf("instance: %d %v", resp.StatusCode, oneInst.Result)
	}
	// Items survive a restart of the grouping (reload from metadata).
	if err := e.items.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.items.mu.Lock()
	clear(e.items.envs)
	e.items.mu.Unlock()
	e.post(t, e.serverTok, p("3.0.0"))
	if s := e.listItems(t, ""); len(s) != 1 || s[0].TotalOccurrences != 5 || s[0].Title != "Renamed" {
		t.Fatalf("after reload: %+v", s)
	}
}

func TestAuthAndErrors(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	good := msgPayload("hi", "info", "")
	cases := []struct {
		name   string
		token  string
		body   []byte
		status int
		msg    string
	}{
		{"no token", "", good, 403, "access token required"},
		{"unknown token", "nope", good, 403, "access token not found"},
		{"read token", e.readTok, good, 403, "insufficient privileges"},
		{"client token, server platform", e.clientTok, good, 403, "post_client_item"},
		{"malformed JSON", e.serverTok, []byte(`{"data":`), 400, "invalid JSON"},
		{"not an object", e.serverTok, []byte(`[1]`), 400, "not a JSON object"},
		{"missing data", e.serverTok, []byte(`{"access_token":"x"}`), 422, "missing data"},
		{"missing environment", e.serverTok, []byte(`{"data":{"body":{"message":{"body":"x"}}}}`), 422, "environment"},
		{"two bodies", e.serverTok, []byte(`{"data":{"environment":"p","body":{"message":{"body":"x"},"trace":{}}}}`), 422, "exactly one"},
		{"no class", e.serverTok, []byte(`{"data":{"environment":"p","body":{"trace":{"exception":{},"frames":[]}}}}`), 422, "class"},
		{"empty chain", e.serverTok, []byte(`{"data":{"environment":"p","body":{"trace_chain":[]}}}`), 422, "trace_chain"},
		{"deep nesting", e.serverTok, []byte(`{"data":{"environment":"p","custom":` + strings.Repeat(`[`, 400) + strings.Repeat(`]`, 400) + `,"body":{"message":{"body":"x"}}}}`), 400, "invalid JSON"},
		{"too large", e.serverTok, []byte(`{"data":{"environment":"p","custom":"` + strings.Repeat("x", 1<<20) + `","body":{"message":{"body":"x"}}}}`), 413, "request entity too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out := e.post(t, c.token, c.body)
			if status != c.status || out["err"] != float64(1) || !strings.Contains(fmt.Sprint(out["message"]), c.msg) {
				t.Errorf("got %d %v, want %d %q", status, out, c.status, c.msg)
			}
		})
	}
	// Client tokens may post browser items; tokens in the body and the
	// waggle key work; form-encoded payloads work.
	browser := []byte(`{"data":{"environment":"p","platform":"browser","body":{"message":{"body":"x"}},"request":{"user_ip":"$remote_ip"}}}`)
	if s, out := e.post(t, e.clientTok, browser); s != 200 {
		t.Errorf("client token, browser: %d %v", s, out)
	}
	if s, out := e.post(t, "", []byte(`{"access_token":"`+e.serverTok+`","data":{"environment":"p","body":{"message":{"body":"x"}}}}`)); s != 200 {
		t.Errorf("token in body: %d %v", s, out)
	}
	if s, out := e.post(t, testKey, good); s != 200 {
		t.Errorf("waggle key: %d %v", s, out)
	}
	form := "access_token=" + e.serverTok + "&payload=" + strings.ReplaceAll(string(good), "\"", "%22")
	var out map[string]any
	resp := e.do(t, http.MethodPost, "/api/1/item", "", []byte(form), &out, "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != 200 {
		t.Errorf("form: %d %v", resp.StatusCode, out)
	}
	// $remote_ip became the caller's address.
	items := e.listItems(t, "")
	var ip any
	for _, it := range items {
		for _, in := range e.instances(t, it.ID) {
			if req, ok := in["data"].(map[string]any)["request"].(map[string]any); ok {
				ip = req["user_ip"]
			}
		}
	}
	if ip != "127.0.0.1" {
		t.Errorf("user_ip %v, want 127.0.0.1", ip)
	}
	// Thousands of frames are fine.
	var b strings.Builder
	b.WriteString(`{"data":{"environment":"p","body":{"trace":{"exception":{"class":"RecursionError"},"frames":[`)
	for i := range 5000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"filename":"/srv/app/r.py","method":"recurse","lineno":%d,"code":"%s"}`, i, strings.Repeat("y", 100))
	}
	b.WriteString(`]}}}}`)
	if s, out := e.post(t, e.serverTok, []byte(b.String())); s != 200 {
		t.Errorf("5000 frames: %d %v", s, out)
	}
	// CORS preflight echoes the requested headers.
	resp = e.do(t, http.MethodOptions, "/api/1/item/", "", nil, nil,
		"Origin", "http://app.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type,x-rollbar-access-token,signal")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "http://app.example" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "content-type,x-rollbar-access-token,signal" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp = e.do(t, http.MethodPost, "/api/1/item/", e.serverTok, good, nil, "Origin", "http://app.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "http://app.example" {
		t.Errorf("POST CORS: %v", resp.Header)
	}
}
