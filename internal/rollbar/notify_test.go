package rollbar

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestWebhookNotifications: new item, occurrence counts crossing 10, a
// reactivation and a deploy reach a webhook configured through the API,
// with Rollbar's payload shape; the delivery log shows them.
func TestWebhookNotifications(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	var mu sync.Mutex
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer hook.Close()
	var created struct {
		Result map[string]any `json:"result"`
	}
	resp := e.do(t, http.MethodPost, "/api/1/webhooks", e.writeTok, []byte(`{"url":"`+hook.URL+`","name":"ops","events":["new_item","reactivated_item","exp_repeat_item","deploy"]}`), &created)
	if resp.StatusCode != 200 {
		t.Fatalf("create webhook: %d %v", resp.StatusCode, created)
	}
	if resp := e.do(t, http.MethodPost, "/api/1/webhooks", e.readTok, []byte(`{"url":"`+hook.URL+`"}`), nil); resp.StatusCode != 403 {
		t.Errorf("read token created a webhook: %d", resp.StatusCode)
	}
	p := func(v string) []byte {
		return []byte(`{"data":{"environment":"production","code_version":"` + v + `","body":{"trace":{"frames":[{"filename":"a.py","method":"f"}],"exception":{"class":"E","message":"boom"}}}}}`)
	}
	for range 12 {
		if s, out := e.post(t, e.serverTok, p("1.0")); s != 200 {
			t.Fatal(s, out)
		}
	}
	it := e.listItems(t, "")[0]
	e.do(t, http.MethodPatch, "/api/1/item/"+itoa(it.ID), e.writeTok, []byte(`{"status":"resolved"}`), nil)
	e.post(t, e.serverTok, p("1.1"))
	e.do(t, http.MethodPost, "/api/1/deploy", e.serverTok, []byte(`{"environment":"production","revision":"abc123","local_username":"ci"}`), nil)

	want := map[string]bool{"new_item": false, "exp_repeat_item": false, "reactivated_item": false, "deploy": false}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		for _, m := range got {
			name, _ := m["event_name"].(string)
			data, _ := m["data"].(map[string]any)
			switch name {
			case "new_item", "reactivated_item", "exp_repeat_item":
				item, _ := data["item"].(map[string]any)
				if item["title"] == "E: boom" && item["last_occurrence"] != nil {
					if name != "exp_repeat_item" || data["occurrences"] == float64(10) {
						want[name] = true
					}
				}
			case "deploy":
				if d, _ := data["deploy"].(map[string]any); d["revision"] == "abc123" {
					want[name] = true
				}
			}
		}
		n := len(got)
		mu.Unlock()
		done := true
		for _, ok := range want {
			done = done && ok
		}
		if done {
			if n != 4 {
				t.Errorf("%d notifications, want 4", n)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, ok := range want {
		if !ok {
			t.Errorf("no %s notification (got %v)", name, got)
		}
	}
	var log struct {
		Result []map[string]any `json:"result"`
	}
	id := int64(created.Result["id"].(float64))
	deadline = time.Now().Add(5 * time.Second)
	for {
		e.do(t, http.MethodGet, "/api/1/webhooks/"+itoa(id)+"/deliveries", e.readTok, nil, &log)
		delivered := 0
		for _, d := range log.Result {
			if d["status"] == "delivered" {
				delivered++
			}
		}
		if delivered == 4 || time.Now().After(deadline) {
			if delivered != 4 {
				t.Errorf("delivery log: %v", log.Result)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var deploys struct {
		Result struct {
			Deploys []map[string]any `json:"deploys"`
		} `json:"result"`
	}
	e.do(t, http.MethodGet, "/api/1/deploys", e.readTok, nil, &deploys)
	if len(deploys.Result.Deploys) != 1 || deploys.Result.Deploys[0]["revision"] != "abc123" {
		t.Errorf("deploys: %v", deploys.Result)
	}
}
