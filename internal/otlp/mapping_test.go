package otlp

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/waggle-hq/waggle/internal/event"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/mapping")

// goldenEvent is an event as the golden files show it: typed values keep
// their type in the JSON ("int:5", "float:1.5", "string:x", "bool:true") so
// that a type change shows up as a diff.
type goldenEvent struct {
	Time       string            `json:"time"`
	Dataset    string            `json:"dataset"`
	SampleRate int64             `json:"samplerate"`
	Fields     map[string]string `json:"fields"`
}

type goldenOut struct {
	Rejected int64         `json:"rejected"`
	Reason   string        `json:"reason,omitempty"`
	Events   []goldenEvent `json:"events"`
}

func golden(t translation) goldenOut {
	out := goldenOut{Rejected: t.rejected, Reason: t.reason, Events: []goldenEvent{}}
	for _, ev := range t.events {
		g := goldenEvent{Time: ev.Time.Format(time.RFC3339Nano), Dataset: ev.Dataset, SampleRate: ev.SampleRate, Fields: map[string]string{}}
		seen := map[string]bool{}
		for _, f := range ev.Fields {
			if seen[f.Key] {
				panic("duplicate field " + f.Key)
			}
			seen[f.Key] = true
			g.Fields[f.Key] = f.Value.Type().String() + ":" + f.Value.Text()
		}
		out.Events = append(out.Events, g)
	}
	return out
}

func checkGolden(t *testing.T, name string, got goldenOut) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "mapping", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, b) {
		t.Errorf("%s differs from the golden file (go test ./internal/otlp -run TestMapping -update rewrites it); got:\n%s", path, b)
	}
}

var testNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func readInput(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mapping", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMappingGolden(t *testing.T) {
	ri := requestInfo{now: testNow, dataset: "metrics-ds"}
	t.Run("traces", func(t *testing.T) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON(readInput(t, "traces")); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "traces", golden(translateTraces(req.Traces(), ri)))
	})
	t.Run("logs", func(t *testing.T) {
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalJSON(readInput(t, "logs")); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "logs", golden(translateLogs(req.Logs(), requestInfo{now: testNow})))
		checkGolden(t, "logs_dataset_header", golden(translateLogs(req.Logs(), requestInfo{now: testNow, dataset: "my-logs"})))
	})
	t.Run("metrics", func(t *testing.T) {
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalJSON(readInput(t, "metrics")); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "metrics", golden(translateMetrics(req.Metrics(), ri)))
		checkGolden(t, "metrics_no_header", golden(translateMetrics(req.Metrics(), requestInfo{now: testNow})))
	})
}

// find returns the first event whose name field is name.
func find(t *testing.T, evs []event.Event, key, val string) event.Event {
	t.Helper()
	for _, ev := range evs {
		if v, ok := ev.Get(key); ok && v.Text() == val {
			return ev
		}
	}
	t.Fatalf("no event with %s=%s", key, val)
	return event.Event{}
}

// TestTraceMappingRules states the husky rules the golden file encodes, so a
// wrong golden update cannot hide them.
func TestTraceMappingRules(t *testing.T) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON(readInput(t, "traces")); err != nil {
		t.Fatal(err)
	}
	tr := translateTraces(req.Traces(), requestInfo{now: testNow})
	if tr.rejected != 1 {
		t.Errorf("rejected = %d, want 1 (the span with an all-zero trace id)", tr.rejected)
	}
	// 2 span events + 1 more + 1 link + span, then the child, then legacy.
	if len(tr.events) != 7 {
		t.Fatalf("%d events, want 7", len(tr.events))
	}
	names := []string{}
	for _, ev := range tr.events[:5] {
		v, _ := ev.Get("meta.annotation_type")
		names = append(names, v.Text())
	}
	if want := []string{"span_event", "span_event", "span_event", "link", ""}; !equal(names, want) {
		t.Errorf("emission order %v, want %v", names, want)
	}
	root := find(t, tr.events, "name", "GET /cart")
	checks := map[string]event.Value{
		"trace.trace_id":                    event.String("5b8efff798038103d269b633813fc60c"),
		"trace.span_id":                     event.String("eee19b7ec3c1b174"),
		"duration_ms":                       event.Float(12.5),
		"status_code":                       event.Int(2),
		"error":                             event.Bool(true),
		"span.kind":                         event.String("server"),
		"type":                              event.String("server"),
		"span.num_events":                   event.Int(3),
		"span.num_links":                    event.Int(1),
		"meta.signal_type":                  event.String("trace"),
		"library.name":                      event.String("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"),
		"telemetry.instrumentation_library": event.Bool(true),
		"shared":                            event.String("from-span"),
		"scope.only":                        event.Int(7),
		"user.id":                           event.Int(42),
		"user.geo.city":                     event.String("Berlin"),
		"tags":                              event.String(`["a",1,true]`),
		"blob":                              event.String(`"AQID"`),
		"deep.l1.l2.l3.l4.l5":               event.String(`{"l6":"x"}`),
		"exception.message":                 event.String("first"),
		"exception.escaped":                 event.Bool(true),
		"resource.schema_url":               event.String("https://opentelemetry.io/schemas/1.21.0"),
	}
	for k, want := range checks {
		if got, _ := root.Get(k); got != want {
			t.Errorf("root %s = %v (%v), want %v (%v)", k, got.Any(), got.Type(), want.Any(), want.Type())
		}
	}
	if _, ok := root.Get("trace.parent_id"); ok {
		t.Error("root span has trace.parent_id")
	}
	if root.Dataset != "checkout" {
		t.Errorf("dataset %q, want the trimmed service.name", root.Dataset)
	}
	if root.SampleRate != 2 { // ot=th:8 → threshold 2^55 → p = 1/2
		t.Errorf("sample rate from tracestate = %d, want 2", root.SampleRate)
	}
	child := find(t, tr.events, "name", "SELECT")
	if v, _ := child.Get("meta.invalid_duration"); !v.Bool() || child.SampleRate != 10 {
		t.Errorf("child: invalid_duration %v, sample rate %d", v.Any(), child.SampleRate)
	}
	if _, ok := child.Get("sampleRate"); ok {
		t.Error("sampleRate attribute kept as a field")
	}
	legacy := find(t, tr.events, "name", "legacy")
	if v, _ := legacy.Get("trace.trace_id"); v.Str() != "4bf92f3577b34da6" || legacy.Dataset != "unknown_service" || legacy.SampleRate != 3 {
		t.Errorf("legacy: trace id %q, dataset %q, rate %d", v.Str(), legacy.Dataset, legacy.SampleRate)
	}
	early := find(t, tr.events, "name", "early")
	if v, _ := early.Get("meta.invalid_time_since_span_start"); !v.Bool() {
		t.Error("early span event not marked invalid")
	}
	if v, _ := early.Get("error"); !v.Bool() {
		t.Error("span event of an error span lacks error=true")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	sort.SliceStable(a, func(int, int) bool { return false })
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTraceStateSampleRate(t *testing.T) {
	for _, c := range []struct {
		ts   string
		want int64
	}{
		{"", 1}, {"ot=th:0", 1}, {"ot=th:8", 2}, {"ot=th:c", 4}, {"rojo=00f067aa0ba902b7,ot=rv:abc;th:f", 16},
		{"ot=th:zz", 1}, {"th=8", 2}, {"ot=th:fffffffffffffff", 1},
	} {
		if got := traceStateSampleRate(c.ts); got != c.want {
			t.Errorf("traceStateSampleRate(%q) = %d, want %d", c.ts, got, c.want)
		}
	}
}
