package traceapi

import (
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

func TestNormalizeTraceID(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"4BF92F3577B34DA6A3CE929D0E0E4736", "4bf92f3577b34da6a3ce929d0e0e4736", true},
		{"00000000000000004bf92f3577b34da6", "4bf92f3577b34da6", true},
		{"4bf92f3577b34da6", "4bf92f3577b34da6", true},
		{"4bf92f3577b34da", "", false},
		{"4bf92f3577b34da6a3ce929d0e0e47360", "", false},
		{"zbf92f3577b34da6a3ce929d0e0e4736", "", false},
		{"", "", false},
	} {
		got, ok := NormalizeTraceID(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("NormalizeTraceID(%q) = %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseWhere(t *testing.T) {
	for _, c := range []struct{ in, col, op, val string }{
		{"http.status_code >= 500", "http.status_code", ">=", `"500"`},
		{"duration_ms>100", "duration_ms", ">", `"100"`},
		{"name = GET /cart", "name", "=", `"GET /cart"`},
		{`name != "a b"`, "name", "!=", `"a b"`},
		{"db.system exists", "db.system", "exists", ``},
		{"error does-not-exist", "error", "does-not-exist", ``},
		{"route starts-with /api", "route", "starts-with", `"/api"`},
		{"region in us, 'eu'", "region", "in", `["us","eu"]`},
	} {
		f, err := ParseWhere(c.in)
		if err != nil || f.Column != c.col || f.Op != c.op || string(f.Value) != c.val {
			t.Errorf("ParseWhere(%q) = %+v %s, %v", c.in, f, f.Value, err)
		}
	}
	for _, bad := range []string{"", "x", "x bogus 1", "x =", "x exists 3"} {
		if _, err := ParseWhere(bad); err == nil {
			t.Errorf("ParseWhere(%q) accepted", bad)
		}
	}
}

// TestAssembleKeepsNonSpansOutOfTheTree: a log line and an error occurrence
// that belong to a span of the trace are listed beside the spans, never as
// spans or roots, even if they carry a span id.
func TestAssembleKeepsNonSpansOutOfTheTree(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(1700000000, 0).Add(time.Duration(ms) * time.Millisecond) }
	str := func(k, v string) event.Field { return event.Field{Key: k, Value: event.String(v)} }
	evs := []query.RawEvent{
		{Time: at(0), Dataset: "shop", Fields: []event.Field{str(fTraceID, "t"), str(fSpanID, "root"), str(fName, "GET /checkout"),
			str(fSignal, "trace"), {Key: fDuration, Value: event.Float(300)}}},
		{Time: at(10), Dataset: "shop", Fields: []event.Field{str(fTraceID, "t"), str(fSpanID, "child"), str(fParentID, "root"),
			str(fName, "charge card"), {Key: fError, Value: event.Bool(true)}, {Key: fDuration, Value: event.Float(50)}}},
		{Time: at(20), Dataset: "cruddur", Fields: []event.Field{str(fTraceID, "t"), str(fParentID, "child"), str(fSignal, "log"),
			str("@message", "card declined")}},
		// An occurrence received minutes later, from an older sender that
		// stamped the span id on the occurrence itself.
		{Time: at(300000), Dataset: "errors", Fields: []event.Field{str(fTraceID, "t"), str(fSpanID, "child"), str(fSignal, "error"),
			str("title", "CardDeclined")}},
	}
	tr := Assemble("t", evs)
	if tr.SpanCount != 2 || len(tr.Spans) != 2 {
		t.Fatalf("spans = %d, want 2", tr.SpanCount)
	}
	if len(tr.RootSpanIDs) != 1 || tr.RootSpanIDs[0] != "root" {
		t.Fatalf("roots = %v, want [root]", tr.RootSpanIDs)
	}
	if len(tr.Logs) != 1 || len(tr.Events) != 1 || tr.Events[0].Fields["title"] != "CardDeclined" {
		t.Fatalf("logs = %v, events = %v; want the log line and the occurrence", tr.Logs, tr.Events)
	}
	if tr.DurationMs != 300 {
		t.Fatalf("duration = %v ms, want 300: the trace spans its spans, not its late events", tr.DurationMs)
	}
}
