package rollbar

import (
	"context"
	"testing"
)

func TestTraceIDSources(t *testing.T) {
	if got := xrayToW3C("1-5f84c7a1-5e2c6b7a8e0d4f1a2b3c4d5e"); got != "5f84c7a15e2c6b7a8e0d4f1a2b3c4d5e" {
		t.Errorf("xrayToW3C: %q", got)
	}
	if tr, sp := parseAmznTraceID("Root=1-5f84c7a1-5e2c6b7a8e0d4f1a2b3c4d5e;Parent=53995c3f42cd8ad8;Sampled=1"); tr != "5f84c7a15e2c6b7a8e0d4f1a2b3c4d5e" || sp != "53995c3f42cd8ad8" {
		t.Errorf("X-Amzn-Trace-Id: %q %q", tr, sp)
	}
	if tr, _ := parseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"); tr != "" {
		t.Errorf("all-zero traceparent accepted")
	}
	e := newTestEnv(t, envOptions{})
	const w3c = "4bf92f3577b34da6a3ce929d0e0e4736"
	cases := []struct {
		name    string
		payload string
		header  []string
		want    string
	}{
		{"attributes", `"attributes":[{"key":"trace_id","value":"` + w3c + `"},{"key":"span_id","value":"00f067aa0ba902b7"}]`, nil, w3c},
		{"request headers, X-Ray", `"request":{"headers":{"X-Amzn-Trace-Id":"Root=1-5f84c7a1-5e2c6b7a8e0d4f1a2b3c4d5e"}}`, nil, "5f84c7a15e2c6b7a8e0d4f1a2b3c4d5e"},
		{"POST traceparent", `"custom":{}`, []string{"traceparent", "00-" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "-00f067aa0ba902b7-01"}, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{"POST X-Ray", `"custom":{}`, []string{"X-Amzn-Trace-Id", "Root=1-6f84c7a1-5e2c6b7a8e0d4f1a2b3c4d5e"}, "6f84c7a15e2c6b7a8e0d4f1a2b3c4d5e"},
	}
	for _, c := range cases {
		body := []byte(`{"data":{"environment":"p","body":{"message":{"body":"` + c.name + `"}},` + c.payload + `}}`)
		if s, out := e.post(t, e.serverTok, body, c.header...); s != 200 {
			t.Fatalf("%s: %d %v", c.name, s, out)
		}
		evs, err := e.st.Trace(context.Background(), e.env, c.want)
		if err != nil || len(evs) != 1 {
			t.Errorf("%s: Trace(%s): %d events, %v", c.name, c.want, len(evs), err)
		}
	}
}
