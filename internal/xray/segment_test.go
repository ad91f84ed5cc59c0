package xray

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

func captured(t testing.TB) [][]byte {
	b, err := os.ReadFile("testdata/datagrams.json")
	if err != nil {
		t.Fatal(err)
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

func get(e event.Event, k string) any {
	v, ok := e.Get(k)
	if !ok {
		return nil
	}
	return v.Any()
}

func TestCapturedDatagrams(t *testing.T) {
	var all []event.Event
	for i, d := range captured(t) {
		body, err := SplitDatagram(d)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		s, err := ParseSegment(body)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		all = Translate(s, "", all)
	}
	if len(all) != 15 {
		t.Fatalf("%d events", len(all))
	}
	// Go SDK segment with a 500 and a failing Capture subsegment.
	seg, sub := all[0], all[1]
	want := map[string]any{
		"trace.trace_id": "5759e988bd862e3fe1be46a994272793", "trace.span_id": "b403546129e2ea1d",
		"trace.parent_id": "53995c3f42cd8ad8", "name": "backend-go", "service.name": "backend-go",
		"http.method": "GET", "http.url": "http://127.0.0.1:43271/api/x", "http.status_code": int64(500),
		"http.client_ip": "127.0.0.1", "http.user_agent": "Go-http-client/1.1", "fault": true, "error": true,
		"aws.xray.sdk": "X-Ray for Go", "service.version": "1.2.3", "annotation.user_id": "u-42",
		"metadata.default": `{"debug":{"n":1}}`, "meta.signal_type": "trace", "meta.source": "xray", "span.kind": "server",
	}
	for k, v := range want {
		if got := get(seg, k); got != v {
			t.Errorf("segment %s = %#v, want %#v", k, got, v)
		}
	}
	if seg.Dataset != "backend-go" || sub.Dataset != "backend-go" {
		t.Fatal(seg.Dataset, sub.Dataset)
	}
	if get(sub, "trace.parent_id") != "b403546129e2ea1d" || get(sub, "exception.type") != "errors.errorString" ||
		get(sub, "exception.message") != "boom" || !strings.Contains(get(sub, "exception.stacktrace").(string), "capture.go:48") {
		t.Fatalf("subsegment %+v", sub.Fields)
	}
	if d := get(seg, "duration_ms").(float64); d < 0.09 || d > 0.1 {
		t.Fatal(d)
	}
	// Python: dynamic naming, a local subsegment with typed annotations, a
	// remote call (span.kind client).
	var py []event.Event
	for _, e := range all {
		if e.Dataset == "4567-myws.gitpod.io" {
			py = append(py, e)
		}
	}
	if len(py) != 3 || get(py[1], "annotation.count") != int64(3) || get(py[1], "xray.namespace") != "local" ||
		get(py[2], "span.kind") != "client" || get(py[2], "http.status_code") != int64(501) {
		t.Fatalf("python events: %+v", py)
	}
}

func TestHeaders(t *testing.T) {
	for _, h := range []string{`{"format":"json","version":1}`, `{"format": "json", "version": 1}`, `{"version":1,"format":"JSON"}`} {
		if _, err := SplitDatagram([]byte(h + "\n{}")); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	for _, h := range []string{`{"format":"json","version":2}`, `nope`, ``} {
		if _, err := SplitDatagram([]byte(h + "\n{}")); err != ErrHeader {
			t.Errorf("%s: %v", h, err)
		}
	}
	if _, err := SplitDatagram([]byte(`{"format":"json","version":1}`)); err != ErrNoBody {
		t.Error(err)
	}
}

func TestInvalidDocuments(t *testing.T) {
	for doc, code := range map[string]string{
		`{"name":"x","trace_id":"1-58406520-a006649127e371903a2de979","start_time":1,"end_time":2}`:                                             "MissingId",
		`{"id":"70de5b6f19ff9a0a","name":"x","trace_id":"1-58406520-a00664","start_time":1,"end_time":2}`:                                       "InvalidTraceId",
		`{"id":"70de5b6f19ff9a0a","name":"x","trace_id":"1-58406520-a006649127e371903a2de979","start_time":1}`:                                  "MissingEndTime",
		`{"id":"70de5b6f19ff9a0a","trace_id":"1-58406520-a006649127e371903a2de979","start_time":1,"end_time":2}`:                                "MissingName",
		`{"id":"70de5b6f19ff9a0a","name":"x","type":"subsegment","trace_id":"1-58406520-a006649127e371903a2de979","start_time":1,"end_time":2}`: "MissingParentId",
	} {
		_, err := ParseSegment([]byte(doc))
		ie, ok := err.(*InvalidError)
		if !ok || ie.Code != code {
			t.Errorf("%s: %v, want %s", doc, err, code)
		}
	}
}

func TestAssemblerInProgressAndStreaming(t *testing.T) {
	a := &Assembler{OrphanTTL: time.Second}
	now := time.Unix(1795566322, 0)
	tid := "1-6b062af2-c29cd3df136e8a7823d57369"
	inprog := must(t, `{"id":"420984b2f1079ca8","name":"svc","trace_id":"`+tid+`","start_time":1795566322.1,"in_progress":true}`)
	if out := a.Add(1, inprog, now, nil); len(out) != 0 {
		t.Fatal("in-progress written", out)
	}
	// A streamed subsegment of the in-progress segment joins its service.
	stream := must(t, `{"id":"e875a3cbcab4b76a","name":"db","type":"subsegment","parent_id":"420984b2f1079ca8","trace_id":"`+tid+`","start_time":1795566322.2,"end_time":1795566322.3}`)
	out := a.Add(1, stream, now, nil)
	if len(out) != 1 || out[0].Dataset != "svc" {
		t.Fatalf("streamed: %+v", out)
	}
	// A nested streamed subsegment arriving before its parent waits.
	nested := must(t, `{"id":"aaaaaaaaaaaaaaaa","name":"inner","type":"subsegment","parent_id":"bbbbbbbbbbbbbbbb","trace_id":"`+tid+`","start_time":1795566322.2,"end_time":1795566322.3}`)
	if out := a.Add(1, nested, now, nil); len(out) != 0 {
		t.Fatal("orphan written early")
	}
	complete := must(t, `{"id":"420984b2f1079ca8","name":"svc","trace_id":"`+tid+`","start_time":1795566322.1,"end_time":1795566322.5,
		"subsegments":[{"id":"bbbbbbbbbbbbbbbb","name":"outer","start_time":1795566322.2,"end_time":1795566322.4}]}`)
	out = a.Add(1, complete, now, nil)
	if len(out) != 3 || out[2].Dataset != "svc" || get(out[0], "xray.in_progress") != nil {
		t.Fatalf("complete: %d %+v", len(out), out)
	}
	if a.Held() != 0 {
		t.Fatal(a.Held())
	}
	// An in-progress segment never completed is written after its TTL.
	a.InProgressTTL = time.Minute
	a.Add(1, must(t, `{"id":"cccccccccccccccc","name":"lambda","trace_id":"`+tid+`","start_time":1795566322.1,"in_progress":true}`), now, nil)
	if out := a.Sweep(now.Add(2*time.Minute), nil); len(out) != 1 || get(out[0], "xray.in_progress") != true {
		t.Fatalf("swept %+v", out)
	}
}

func must(t *testing.T, doc string) *Segment {
	t.Helper()
	s, err := ParseSegment([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBuildTraceAndDocuments(t *testing.T) {
	var evs []event.Event
	for _, d := range captured(t)[:1] {
		body, _ := SplitDatagram(d)
		s, _ := ParseSegment(body)
		evs = Translate(s, "", evs)
	}
	var raw []query.RawEvent
	for _, e := range evs {
		raw = append(raw, query.RawEvent{Time: e.Time, Dataset: e.Dataset, SampleRate: 1, Fields: e.Fields})
	}
	tr := BuildTrace("5759e988bd862e3fe1be46a994272793", raw)
	if tr.XRayID != "1-5759e988-bd862e3fe1be46a994272793" || len(tr.Segments) != 1 || tr.Root == nil || tr.Root.Name != "backend-go" {
		t.Fatalf("%+v", tr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(tr.Document(tr.Root)), &doc); err != nil {
		t.Fatal(err)
	}
	subs := doc["subsegments"].([]any)
	if doc["fault"] != true || doc["parent_id"] != "53995c3f42cd8ad8" || len(subs) != 1 ||
		doc["http"].(map[string]any)["response"].(map[string]any)["status"].(float64) != 500 ||
		doc["aws"].(map[string]any)["xray"].(map[string]any)["sdk"] != "X-Ray for Go" ||
		doc["annotations"].(map[string]any)["user_id"] != "u-42" {
		t.Fatalf("%s", tr.Document(tr.Root))
	}
	if c := subs[0].(map[string]any)["cause"].(map[string]any); c["exceptions"] == nil {
		t.Fatal(c)
	}
}
