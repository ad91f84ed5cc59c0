package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/xray"
	"github.com/waggle-hq/waggle/internal/xray/sampling"
)

// sink collects submitted events; fail makes Submit return an error.
type sink struct {
	mu   sync.Mutex
	evs  []event.Event
	fail error
}

func (s *sink) Submit(_ context.Context, b event.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.evs = append(s.evs, b.Events...)
	return nil
}

func (s *sink) events() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.evs...)
}

func start(t *testing.T, sk *sink) *Daemon {
	t.Helper()
	d, err := Start(Config{Addr: "127.0.0.1:0", Env: 1, Pipeline: sk, Sampling: &sampling.Service{},
		FlushInterval: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

func send(t *testing.T, d *Daemon, datagrams ...string) {
	t.Helper()
	c, err := net.Dial("udp", d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, g := range datagrams {
		if _, err := c.Write([]byte(g)); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls until cond holds (2 s at most).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func field(e event.Event, k string) any {
	v, ok := e.Get(k)
	if !ok {
		return nil
	}
	return v.Any()
}

const (
	pyHeader = `{"format":"json","version":1}` + "\n"
	goHeader = `{"format": "json", "version": 1}` + "\n"
	tid      = "1-6b062af2-c29cd3df136e8a7823d57369"
)

func doc(id, name string, extra string) string {
	return fmt.Sprintf(`{"trace_id":"%s","id":"%s","name":"%s","start_time":1795566322.1%s}`, tid, id, name, extra)
}

func TestHeadersAndCounters(t *testing.T) {
	sk := &sink{}
	d := start(t, sk)
	send(t, d,
		pyHeader+doc("0000000000000001", "py", `,"end_time":1795566322.2`),
		goHeader+doc("0000000000000002", "go", `,"end_time":1795566322.2`),
		`{"version":1,"format":"JSON"}`+"\n"+doc("0000000000000003", "odd", `,"end_time":1795566322.2`),
		// Refused: no newline, wrong header, no body, not JSON, invalid.
		doc("0000000000000004", "x", `,"end_time":1`),
		`{"format":"json","version":2}`+"\n"+doc("0000000000000005", "x", `,"end_time":1`),
		pyHeader,
		pyHeader+`{"id":`,
		pyHeader+`[1,2]`,
		pyHeader+doc("zz", "x", `,"end_time":1`),
		pyHeader+doc("0000000000000006", "x", ``), // neither end_time nor in_progress
	)
	waitFor(t, "10 datagrams", func() bool { return d.Stats.Datagrams.Load() == 10 })
	waitFor(t, "3 events", func() bool { return len(sk.events()) == 3 })
	names := map[string]bool{}
	for _, e := range sk.events() {
		names[e.Dataset] = true
	}
	if !names["py"] || !names["go"] || !names["odd"] {
		t.Fatal(names)
	}
	st := &d.Stats
	got := fmt.Sprint(st.Segments.Load(), st.BadHeader.Load(), st.BadJSON.Load(), st.Invalid.Load(), st.TooBig.Load(), st.Events.Load())
	if got != "3 3 2 2 0 3" {
		t.Fatalf("segments bad_header bad_json invalid oversized events = %s", got)
	}
}

// TestOversized: a document over X-Ray's 64 kB is counted and dropped. An
// IPv4 UDP datagram carries at most 65,507 bytes, so the daemon's check is
// exercised on the worker's path directly, and the largest datagram UDP
// can carry is shown to pass.
func TestOversized(t *testing.T) {
	sk := &sink{}
	d := start(t, sk)
	pad := func(n int) string {
		base := doc("00000000000000aa", "big", `,"end_time":1795566322.2,"metadata":{"default":{"pad":"`)
		return pyHeader + base + strings.Repeat("x", n-len(pyHeader)-len(base)-5) + `"}}}`
	}
	big := pad(xray.MaxDocument + 1000)
	var p xray.Parser
	if out := d.handle(&p, []byte(big), nil); len(out) != 0 || d.Stats.TooBig.Load() != 1 {
		t.Fatalf("%d events, %d oversized", len(out), d.Stats.TooBig.Load())
	}
	send(t, d, pad(65507))
	waitFor(t, "the largest datagram", func() bool { return len(sk.events()) == 1 })
}

// TestCapturedDatagrams replays the captured datagrams of the Go and Python
// SDKs (internal/xray/testdata/datagrams.json) through UDP.
func TestCapturedDatagrams(t *testing.T) {
	b, err := os.ReadFile("../testdata/datagrams.json")
	if err != nil {
		t.Fatal(err)
	}
	var grams []string
	if err := json.Unmarshal(b, &grams); err != nil {
		t.Fatal(err)
	}
	sk := &sink{}
	d := start(t, sk)
	send(t, d, grams...)
	waitFor(t, "15 events", func() bool { return len(sk.events()) == 15 })
	if d.Stats.Segments.Load() != 7 || d.Stats.Invalid.Load()+d.Stats.BadJSON.Load()+d.Stats.BadHeader.Load() != 0 {
		t.Fatalf("%+v", &d.Stats)
	}
	per := map[string]int{}
	for _, e := range sk.events() {
		per[e.Dataset]++
		if field(e, "meta.source") != "xray" || e.Time.Unix() < 1795566287 {
			t.Fatalf("%+v", e)
		}
	}
	if fmt.Sprint(per) != "map[4567-myws.gitpod.io:3 backend-flask:4 backend-go:8]" {
		t.Fatal(per)
	}
}

// TestInProgressThenComplete: the in-progress document is held, the
// complete one replaces it; one never completed is written at Close.
func TestInProgressThenComplete(t *testing.T) {
	sk := &sink{}
	d := start(t, sk)
	send(t, d, pyHeader+doc("00000000000000b1", "lambda", `,"in_progress":true`))
	waitFor(t, "held", func() bool { return d.Assembler().Held() == 1 })
	time.Sleep(30 * time.Millisecond) // a flush or two: nothing written
	if n := len(sk.events()); n != 0 {
		t.Fatalf("%d events for an in-progress document", n)
	}
	send(t, d, pyHeader+doc("00000000000000b1", "lambda", `,"in_progress":false,"end_time":1795566323.1,"http":{"response":{"status":200}}`))
	waitFor(t, "the complete document", func() bool { return len(sk.events()) == 1 })
	e := sk.events()[0]
	if field(e, "xray.in_progress") != nil || field(e, "duration_ms") != 1000.0 || field(e, "http.status_code") != int64(200) || d.Assembler().Held() != 0 {
		t.Fatalf("%+v", e.Fields)
	}
	send(t, d, pyHeader+doc("00000000000000b2", "never", `,"in_progress":true`))
	waitFor(t, "held", func() bool { return d.Assembler().Held() == 1 })
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := sk.events()
	if len(evs) != 2 || field(evs[1], "xray.in_progress") != true || evs[1].Dataset != "never" {
		t.Fatalf("%+v", evs)
	}
}

// TestStreamedSubsegments: as the Python SDK streams them, subsegments
// arrive before their segment; they wait and join the segment's dataset.
func TestStreamedSubsegments(t *testing.T) {
	sk := &sink{}
	d := start(t, sk)
	var grams []string
	for i := range 31 {
		grams = append(grams, pyHeader+fmt.Sprintf(`{"id":"%016x","name":"step-%d","start_time":1795566322.2,"parent_id":"00000000000000c1","in_progress":false,"trace_id":"%s","type":"subsegment","namespace":"local","end_time":1795566322.3}`, 0xd00+i, i, tid))
	}
	send(t, d, grams...)
	waitFor(t, "31 held", func() bool { return d.Assembler().Held() == 31 })
	send(t, d,
		pyHeader+doc("00000000000000c1", "Cruddur", `,"end_time":1795566322.5,"subsegments":[{"id":"0000000000000e01","name":"step-31","start_time":1795566322.3,"end_time":1795566322.4}]`))
	waitFor(t, "33 events", func() bool { return len(sk.events()) == 33 })
	for _, e := range sk.events() {
		if e.Dataset != "Cruddur" || field(e, "service.name") != "Cruddur" {
			t.Fatalf("%s %+v", e.Dataset, e.Fields)
		}
	}
	if d.Assembler().Held() != 0 {
		t.Fatal(d.Assembler().Held())
	}
}

// TestPipelineRefusal: an overloaded pipeline drops and counts.
func TestPipelineRefusal(t *testing.T) {
	sk := &sink{fail: ingest.ErrOverloaded}
	d := start(t, sk)
	send(t, d, pyHeader+doc("00000000000000f1", "x", `,"end_time":1795566322.2`))
	waitFor(t, "the drop", func() bool { return d.Stats.DroppedPipeline.Load() == 1 })
	if d.Stats.Events.Load() != 0 {
		t.Fatal(d.Stats.Events.Load())
	}
}

// TestTCPSampling: the sampling calls over TCP, unsigned, chunked included;
// a bad body gets AWS's error.
func TestTCPSampling(t *testing.T) {
	d := start(t, &sink{})
	for _, c := range []struct {
		path, body string
		chunked    bool
		status     int
		want       string
	}{
		{"/GetSamplingRules", ``, true, 200, `"RuleName":"Default"`},
		{"/GetSamplingRules", `{"NextToken": null}`, false, 200, `"NextToken":null`},
		{"/SamplingTargets", `{"SamplingStatisticsDocuments": [{"RuleName": "Default", "ClientID": "82b27d30d576c9967c806b80", "RequestCount": 2, "BorrowCount": 1, "SampledCount": 1, "Timestamp": 1795566332}]}`,
			false, 200, `"ReservoirQuota":1,`},
		{"/SamplingTargets", `{"SamplingStatisticsDocuments": 3}`, false, 400, `{"__type":"InvalidRequestException","message":"could not parse the request body"}`},
		{"/Other", `{}`, false, 404, ``},
	} {
		var body io.Reader = strings.NewReader(c.body)
		if c.chunked {
			body = io.MultiReader(body)
		}
		r, _ := http.NewRequest("POST", "http://"+d.Addr()+c.path, body)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %s", c.path, resp.StatusCode, b)
		}
	}
}
