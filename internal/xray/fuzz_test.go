package xray

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// FuzzSegment feeds arbitrary datagrams through everything a UDP datagram
// meets: the header split, the parser, the assembler (in-progress and
// streamed documents), the mapping to events, and back through BuildTrace
// and Document. Nothing may panic, every event must be valid for the store,
// and a document that parses must map to one event per entity. Seeds: the
// captured datagrams of the Go and Python SDKs (testdata/datagrams.json,
// also committed under testdata/fuzz/FuzzSegment) and edge cases.
func FuzzSegment(f *testing.F) {
	for _, d := range captured(f) {
		f.Add(d)
	}
	for _, s := range []string{
		`{"format":"json","version":1}` + "\n" + `{"id":"70de5b6f19ff9a0a","name":"x","trace_id":"1-58406520-a006649127e371903a2de979","start_time":1,"in_progress":true}`,
		`{"format":"json","version":1}` + "\n" + `{"id":"70de5b6f19ff9a0a","name":"x","type":"subsegment","parent_id":"70de5b6f19ff9a0b","trace_id":"1-58406520-a006649127e371903a2de979","start_time":1,"end_time":"2"}`,
		`{"format":"json","version":1}` + "\n" + `{"id":"70de5b6f19ff9a0a","name":"x","trace_id":"1-58406520-a006649127e371903a2de979","start_time":1e300,"end_time":-1e300,"cause":"70de5b6f19ff9a0c","annotations":{"a":[1],"b":null,"c":1.5e400}}`,
		"{}\n{}", "\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		body, err := SplitDatagram(b)
		if err != nil {
			body = b
		}
		var p Parser
		s, err := p.Parse(body)
		if err != nil {
			return
		}
		n := s.Count()
		if got := len(Translate(s, "", nil)); got != n {
			t.Fatalf("%d events for %d entities", got, n)
		}
		a := &Assembler{MaxHeld: 4}
		now := time.Unix(1795566322, 0)
		out := a.Add(1, s, now, nil)
		// The same document again, completed, and a sweep past every TTL.
		if s.InProgress {
			s2, _ := p.Parse(bytes.Replace(body, []byte(`"in_progress":true`), []byte(`"end_time":2`), 1))
			if s2 != nil {
				out = a.Add(1, s2, now, out)
			}
		}
		out = a.Sweep(now.Add(time.Hour), out)
		if a.Held() != 0 {
			t.Fatalf("%d held after the sweep", a.Held())
		}
		var raw []query.RawEvent
		for _, e := range out {
			if e.Dataset == "" {
				t.Fatal("event without a dataset")
			}
			if len(e.Fields) > event.MaxFieldsPerEvent {
				t.Fatalf("%d fields", len(e.Fields))
			}
			raw = append(raw, query.RawEvent{Time: e.Time, Dataset: e.Dataset, SampleRate: 1, Fields: e.Fields})
		}
		w3c, ok := ToW3C(s.TraceID)
		if !ok {
			t.Fatalf("parsed trace id %q does not convert", s.TraceID)
		}
		tr := BuildTrace(w3c, raw)
		for _, seg := range tr.Segments {
			if !json.Valid([]byte(tr.Document(seg))) {
				t.Fatal("invalid document")
			}
		}
		_ = tr.DurationSec()
		g := NewGraph()
		g.Add(tr)
	})
}
