package api

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/xray"
)

// TestTraceSummariesLarge loads WAGGLE_XRAY_BENCH_TRACES traces (default
// 1,000,000; one segment each, 4 services, 1 % faults with status 500,
// 0.1 % with annotation tag = "rare", over the last 50 minutes) straight
// through the ingest pipeline into DuckDB, then times the first page of
// GetTraceSummaries (signed, through aws-sdk-go-v2) for several filters.
//
//	WAGGLE_XRAY_BENCH=1 go test -run TraceSummariesLarge -v -timeout 1h ./internal/xray/api
func TestTraceSummariesLarge(t *testing.T) {
	if os.Getenv("WAGGLE_XRAY_BENCH") == "" {
		t.Skip("set WAGGLE_XRAY_BENCH=1")
	}
	n := 1000000
	if v, err := strconv.Atoi(os.Getenv("WAGGLE_XRAY_BENCH_TRACES")); err == nil {
		n = v
	}
	h := newHarness(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	first := now.Add(-50 * time.Minute)
	step := 50 * time.Minute / time.Duration(n)
	var p xray.Parser
	t0 := time.Now()
	var evs []event.Event
	for i := 0; i < n; i++ {
		st := first.Add(time.Duration(i) * step)
		extra := `"http":{"request":{"method":"GET","url":"http://api.example.com/api/items/` + strconv.Itoa(i%1000) + `"},"response":{"status":200}}`
		if i%100 == 7 {
			extra = `"fault":true,"http":{"request":{"method":"GET","url":"http://api.example.com/api/items/` + strconv.Itoa(i%1000) + `"},"response":{"status":500}}`
		}
		if i%1000 == 3 {
			extra += `,"annotations":{"tag":"rare"}`
		}
		sec := float64(st.UnixNano()) / 1e9
		doc := fmt.Sprintf(`{"trace_id":"1-%08x-%024x","id":"%016x","name":"svc-%d","start_time":%.6f,"end_time":%.6f,%s}`,
			st.Unix(), i, i+1, i%4, sec, sec+0.001*float64(1+i%500), extra)
		s, err := p.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		evs = xray.Translate(s, "", evs)
		if len(evs) == 50000 || i == n-1 {
			if err := h.pipe.Submit(ctx, event.Batch{Env: h.env, Events: evs}); err != nil {
				t.Fatal(err)
			}
			evs = evs[:0]
		}
	}
	t.Logf("loaded %d traces in %v (%.0f/s)", n, time.Since(t0).Round(time.Millisecond), float64(n)/time.Since(t0).Seconds())
	cl := h.client(secret)
	start, end := first.Add(-time.Minute), now.Add(time.Minute)
	for _, c := range []struct {
		expr string
		want int
	}{
		{"", 100},
		{"fault", 100},
		{`http.status = 500 AND service("svc-3")`, 100},
		{`responsetime > 0.499`, 100},
		{`http.url ENDSWITH "/items/7" AND fault`, 100},
		{`annotation.tag = "rare"`, 100},
	} {
		t1 := time.Now()
		out, err := cl.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{StartTime: &start, EndTime: &end, FilterExpression: aws.String(c.expr)})
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		t.Logf("%-45q first page: %3d summaries, %7d traces read, %v", c.expr, len(out.TraceSummaries), *out.TracesProcessedCount, time.Since(t1).Round(time.Millisecond))
		if len(out.TraceSummaries) != c.want {
			t.Errorf("%s: %d", c.expr, len(out.TraceSummaries))
		}
	}
}
