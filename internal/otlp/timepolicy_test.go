package otlp_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/store"
)

// TestOTLPEventTimePolicy: the node applies the event time policy to OTLP
// as to every protocol. A span two years old is acknowledged (no partial
// success) and not stored; one three days ahead is stored at its receive
// time with its own start in meta.original_timestamp; a span of now is
// stored as sent.
func TestOTLPEventTimePolicy(t *testing.T) {
	n := startNode(t)
	now := time.Now()
	span := func(traceID, spanID, name string, start time.Time) string {
		return fmt.Sprintf(`{"traceId":%q,"spanId":%q,"name":%q,"kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}`,
			traceID, spanID, name, start.UnixNano(), start.Add(15*time.Millisecond).UnixNano())
	}
	const (
		oldTrace    = "0af7651916cd43dd8448eb211c80319c"
		futureTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		nowTrace    = "5b8efff798038103d269b633813fc60c"
	)
	old := now.Add(-2 * 365 * 24 * time.Hour)
	future := now.Add(3 * 24 * time.Hour).Truncate(time.Microsecond)
	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"timepolicy"}}]},` +
		`"scopeSpans":[{"spans":[` +
		span(oldTrace, "00f067aa0ba902b7", "ancient", old) + `,` +
		span(futureTrace, "b7ad6b7169203331", "ahead", future) + `,` +
		span(nowTrace, "53995c3f42cd8ad8", "present", now) + `]}]}]}`

	sent := time.Now()
	status, _, b := n.do(t, "POST", n.otlp+"/v1/traces", "application/json", body)
	acked := time.Now()
	if status != 200 || (string(b) != "{}" && string(b) != `{"partialSuccess":{}}`) {
		t.Fatalf("export: %d %s", status, b)
	}

	// The old span is nowhere; the others are.
	if status, _ := n.trace(t, oldTrace); status != 404 {
		t.Errorf("two-year-old span's trace: %d, want 404", status)
	}
	data := n.query(t, "timepolicy", `{"calculations":[{"op":"COUNT"}],"breakdowns":["name"],"time_range":7200}`)
	counts := map[string]float64{}
	for _, r := range results(t, data) {
		counts[fmt.Sprint(r.Data["name"])] = r.Data["COUNT"].(float64)
	}
	if fmt.Sprint(counts) != "map[ahead:1 present:1]" {
		t.Errorf("spans stored by name: %v", counts)
	}
	// Not even in a window reaching back three years.
	start := strconv.FormatInt(now.Add(-3*365*24*time.Hour).Unix(), 10)
	end := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	data = n.query(t, "timepolicy", `{"calculations":[{"op":"COUNT"}],"filters":[{"column":"name","op":"=","value":"ancient"}],"start_time":`+start+`,"end_time":`+end+`}`)
	if r := results(t, data); len(r) != 1 || r[0].Data["COUNT"] != 0.0 {
		t.Errorf("ancient spans over three years: %v", r)
	}

	// The future span: at its receive time, its own start kept.
	data = n.query(t, "timepolicy", `{"filters":[{"column":"name","op":"=","value":"ahead"}],"time_range":7200}`)
	evs := rawEvents(t, data)
	if len(evs) != 1 {
		t.Fatalf("%d future spans stored, want 1", len(evs))
	}
	ev := evs[0]
	if ev.Time.Before(sent.Add(-time.Millisecond)) || ev.Time.After(acked) {
		t.Errorf("future span stored at %v, want its receive time in [%v, %v]", ev.Time, sent, acked)
	}
	if got := ev.Data[store.OriginalTimeField]; got != future.UTC().Format(time.RFC3339Nano) {
		t.Errorf("%s = %v, want %s", store.OriginalTimeField, got, future.UTC().Format(time.RFC3339Nano))
	}
	if ev.Data["duration_ms"] != 15.0 || ev.Data["trace.trace_id"] != futureTrace {
		t.Errorf("future span fields %v", ev.Data)
	}
	status, tr := n.trace(t, futureTrace)
	if status != 200 || tr.SpanCount != 1 || tr.Spans[0].Name != "ahead" || !tr.Start.Equal(ev.Time) {
		t.Errorf("future span's trace: %d %+v", status, tr)
	}

	// The present span: as sent, nothing added.
	data = n.query(t, "timepolicy", `{"filters":[{"column":"name","op":"=","value":"present"}],"time_range":7200}`)
	evs = rawEvents(t, data)
	if len(evs) != 1 || !evs[0].Time.Equal(now.Truncate(time.Microsecond)) && !evs[0].Time.Equal(now) {
		t.Fatalf("present span: %+v (sent at %v)", evs, now)
	}
	if _, ok := evs[0].Data[store.OriginalTimeField]; ok {
		t.Errorf("present span has %s", store.OriginalTimeField)
	}
}
