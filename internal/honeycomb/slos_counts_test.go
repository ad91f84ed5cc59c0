package honeycomb

import (
	"fmt"
	"testing"
	"time"
)

// TestSLOCounts: /counts returns 60 s windows whose total and error counts
// match the events, and rejects bad ranges.
func TestSLOCounts(t *testing.T) {
	h, a := newSLOHarness(t)
	now := time.Now().UTC()
	a.Now = func() time.Time { return now }
	evs := appEvents(t, h, now)
	h.doJSON("POST", "/1/derived_columns/app", h.adminA, `{"alias":"good_request","expression":"$duration_ms < 300 AND $status < 500"}`, 201, nil)
	var slo map[string]any
	h.doJSON("POST", "/1/slos/app", h.adminA, `{"name":"App latency","sli":{"alias":"good_request"},"time_period_days":2,"target_per_million":800000}`, 201, &slo)
	id := slo["id"].(string)

	start, end := now.Add(-20*time.Hour).Unix(), now.Unix() // two query chunks
	var out struct {
		SLOID             string `json:"slo_id"`
		ResolutionSeconds int    `json:"resolution_seconds"`
		Windows           []struct {
			WindowStart int64   `json:"window_start"`
			WindowEnd   int64   `json:"window_end"`
			TotalCount  float64 `json:"total_count"`
			ErrorCount  float64 `json:"error_count"`
			IsPartial   bool    `json:"is_partial"`
		} `json:"windows"`
	}
	h.doJSON("GET", fmt.Sprintf("/1/slos/app/%s/counts?start_time=%d&end_time=%d", id, start, end), h.adminA, nil, 200, &out)
	if out.SLOID != id || out.ResolutionSeconds != 60 || len(out.Windows) < 1200 || len(out.Windows) > 1201 {
		t.Fatalf("counts: %s %d %d windows", out.SLOID, out.ResolutionSeconds, len(out.Windows))
	}
	type tb struct{ total, bad float64 }
	want := map[int64]tb{}
	for _, e := range evs {
		ts := e.Time.Unix()
		if ts < start-start%60 || ts >= end {
			continue
		}
		d, _ := e.Get("duration_ms")
		s, ok := e.Get("status")
		k := ts - ts%60
		v := want[k]
		v.total += float64(e.SampleRate)
		if !(d.Float() < 300 && ok && s.Int() < 500) {
			v.bad += float64(e.SampleRate)
		}
		want[k] = v
	}
	got := map[int64]tb{}
	for i, w := range out.Windows {
		if w.WindowEnd-w.WindowStart != 60 || (i > 0 && w.WindowStart != out.Windows[i-1].WindowEnd) {
			t.Fatalf("window %d: %+v", i, w)
		}
		if w.TotalCount > 0 {
			got[w.WindowStart] = tb{w.TotalCount, w.ErrorCount}
		}
	}
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	if last := out.Windows[len(out.Windows)-1]; !last.IsPartial && now.Unix()%60 != 0 {
		t.Fatalf("last window not partial: %+v", last)
	}
	for _, q := range []string{"start_time=x", fmt.Sprintf("start_time=%d&end_time=%d", end, start), fmt.Sprintf("start_time=%d&end_time=%d", end-8*86400, end)} {
		if code, body := h.do("GET", "/1/slos/app/"+id+"/counts?"+q, h.adminA, nil); code != 400 {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	if code, _ := h.do("GET", "/1/slos/app/nope/counts", h.adminA, nil); code != 404 {
		t.Errorf("unknown SLO: %d", code)
	}
}
