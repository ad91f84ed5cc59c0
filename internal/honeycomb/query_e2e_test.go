package honeycomb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/cli/querycmd"
	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
)

// The end-to-end tests run real specs through the HTTP query API against the
// embedded DuckDB store and check the numbers against ones computed here,
// from the events written.

// e2eEnv is the environment of queryTestAuth's keys.
const e2eEnv = event.EnvID(7)

// e2eFixture is the data written and the server reading it.
type e2eFixture struct {
	srv   *httptest.Server
	store store.Store
	// t0 is the start of the queried hour; now its end.
	t0, now time.Time
	// shop holds the in-range events of dataset "shop" (sample rate 1);
	// weighted those of "weighted" (sample rate 4).
	shop, weighted []event.Event
}

var e2eEndpoints = []string{"/cart", "/checkout", "/home", "/search"}

// newE2E writes the fixture events into a fresh DuckDB store and serves the
// query API over it.
func newE2E(tb testing.TB) *e2eFixture {
	tb.Helper()
	st, err := duckdb.Open(duckdb.Options{Dir: tb.TempDir(), MemoryLimit: 1 << 30, Threads: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	f := &e2eFixture{t0: time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)}
	f.now = f.t0.Add(time.Hour)
	rng := rand.New(rand.NewPCG(1, 2))
	var all []event.Event
	for i := range 480 {
		e := event.Event{
			Time:       f.t0.Add(time.Duration(i) * 7500 * time.Millisecond),
			Dataset:    "shop",
			SampleRate: 1,
		}
		e.Set("endpoint", event.String(e2eEndpoints[rng.IntN(len(e2eEndpoints))]))
		e.Set("duration_ms", event.Float(math.Round(rng.Float64()*100000)/100))
		e.Set("status", event.Int([]int64{200, 200, 200, 201, 404, 500, 503}[rng.IntN(7)]))
		e.Set("bytes", event.Int(int64(100+rng.IntN(9900))))
		e.Set("requests_total", event.Int(int64(10*i)))
		if rng.IntN(10) > 0 {
			e.Set("user", event.String(fmt.Sprintf("u%d", rng.IntN(25))))
		}
		all = append(all, e)
	}
	f.shop = slices.Clone(all)
	for i := range 40 {
		e := event.Event{Time: f.t0.Add(time.Duration(i) * 90 * time.Second), Dataset: "weighted", SampleRate: 4}
		e.Set("bytes", event.Int(int64(1000+i)))
		e.Set("endpoint", event.String(e2eEndpoints[i%2]))
		f.weighted = append(f.weighted, e)
		all = append(all, e)
	}
	// Events just outside [t0, now) must not count.
	for _, at := range []time.Time{f.t0.Add(-time.Second), f.now} {
		e := event.Event{Time: at, Dataset: "shop", SampleRate: 1}
		e.Set("endpoint", event.String("/outside"))
		e.Set("duration_ms", event.Float(1e6))
		e.Set("status", event.Int(500))
		all = append(all, e)
	}
	if err := st.Write(tb.Context(), event.Batch{Env: e2eEnv, Events: all}); err != nil {
		tb.Fatal(err)
	}
	a := &API{Store: st, Auth: queryTestAuth{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return f.now }}
	mux := http.NewServeMux()
	a.registerQueries(mux)
	f.store = st
	f.srv = httptest.NewServer(mux)
	tb.Cleanup(f.srv.Close)
	return f
}

// e2eData is a decoded result's data.
type e2eData struct {
	Series           []e2ePoint       `json:"series"`
	Results          []e2ePoint       `json:"results"`
	TotalByAggregate map[string]any   `json:"total_by_aggregate"`
	OtherByAggregate map[string]any   `json:"other_by_aggregate"`
	Events           []map[string]any `json:"events"`
}

type e2ePoint struct {
	Time time.Time      `json:"time"`
	Data map[string]any `json:"data"`
}

// query creates spec on dataset, runs it with the run request fields in
// run (a JSON object's members, may be empty), and reads the result.
func (f *e2eFixture) query(tb testing.TB, dataset, spec, run string) e2eData {
	tb.Helper()
	status, _, q := call(tb, f.srv, "POST", "/1/queries/"+dataset, "all", spec)
	if status != 200 {
		tb.Fatalf("create query %s: %d %v", spec, status, q)
	}
	body := `{"query_id":"` + q["id"].(string) + `"`
	if run != "" {
		body += "," + run
	}
	status, hdr, created := call(tb, f.srv, "POST", "/1/query_results/"+dataset, "all", body+"}")
	if status != 201 {
		tb.Fatalf("run query %s: %d %v", spec, status, created)
	}
	req, _ := http.NewRequest("GET", hdr.Get("Location"), nil)
	req.Header.Set("X-Honeycomb-Team", "all")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Complete bool    `json:"complete"`
		Data     e2eData `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || !res.Complete {
		tb.Fatalf("read result: %v (complete %v)", err, res.Complete)
	}
	return res.Data
}

// nums returns the float values of column col in evs that match keep.
func nums(evs []event.Event, col string, keep func(*event.Event) bool) []float64 {
	var out []float64
	for i := range evs {
		if keep != nil && !keep(&evs[i]) {
			continue
		}
		if v, ok := evs[i].Get(col); ok {
			out = append(out, v.Float())
		}
	}
	return out
}

// byEndpoint selects events of one endpoint.
func byEndpoint(ep string) func(*event.Event) bool {
	return func(e *event.Event) bool { v, _ := e.Get("endpoint"); return v.Str() == ep }
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// percentile is the nearest-rank percentile: the smallest value with at
// least ceil(n·p) values at or below it.
func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := float64(len(s))
	rank := math.Max(1, n-math.Floor(n-n*p))
	return s[int(rank)-1]
}

// near compares a result value with a float.
func near(tb testing.TB, what string, got any, want float64) {
	tb.Helper()
	g, ok := got.(float64)
	if !ok || math.Abs(g-want) > 1e-6*math.Max(1, math.Abs(want)) {
		tb.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestQueryE2E(t *testing.T) {
	f := newE2E(t)
	t.Run("aggregates by endpoint", func(t *testing.T) {
		d := f.query(t, "shop", `{"calculations":[{"op":"COUNT"},{"op":"SUM","column":"bytes"},{"op":"AVG","column":"duration_ms"},
			{"op":"MIN","column":"duration_ms"},{"op":"MAX","column":"duration_ms"},{"op":"COUNT_DISTINCT","column":"user"},
			{"op":"P50","column":"duration_ms"},{"op":"P95","column":"duration_ms"},{"op":"P99","column":"duration_ms"},
			{"op":"HEATMAP","column":"duration_ms"}],
			"breakdowns":["endpoint"],"orders":[{"column":"endpoint"}],"time_range":3600,"granularity":300}`, "")
		if len(d.Results) != len(e2eEndpoints) {
			t.Fatalf("%d groups, want %d: %v", len(d.Results), len(e2eEndpoints), d.Results)
		}
		for i, ep := range e2eEndpoints {
			r := d.Results[i].Data
			if r["endpoint"] != ep {
				t.Fatalf("group %d is %v, want %s (ordered by endpoint)", i, r["endpoint"], ep)
			}
			keep := byEndpoint(ep)
			dur := nums(f.shop, "duration_ms", keep)
			near(t, ep+" COUNT", r["COUNT"], float64(len(dur)))
			near(t, ep+" SUM(bytes)", r["SUM(bytes)"], sum(nums(f.shop, "bytes", keep)))
			near(t, ep+" AVG", r["AVG(duration_ms)"], sum(dur)/float64(len(dur)))
			near(t, ep+" MIN", r["MIN(duration_ms)"], slices.Min(dur))
			near(t, ep+" MAX", r["MAX(duration_ms)"], slices.Max(dur))
			users := map[string]bool{}
			for _, e := range f.shop {
				if u, ok := e.Get("user"); ok && keep(&e) {
					users[u.Str()] = true
				}
			}
			near(t, ep+" COUNT_DISTINCT", r["COUNT_DISTINCT(user)"], float64(len(users)))
			for _, p := range []struct {
				label string
				q     float64
			}{{"P50", 0.5}, {"P95", 0.95}, {"P99", 0.99}} {
				near(t, ep+" "+p.label, r[p.label+"(duration_ms)"], percentile(dur, p.q))
			}
			hm, _ := r["HEATMAP(duration_ms)"].(map[string]any)
			if hm == nil {
				t.Fatalf("%s heatmap missing: %v", ep, r)
			}
			near(t, ep+" heatmap count", hm["count"], float64(len(dur)))
			bucketSum := 0.0
			for _, b := range hm["buckets"].([]any) {
				bucketSum += b.(map[string]any)["count"].(float64)
			}
			near(t, ep+" heatmap bucket total", bucketSum, float64(len(dur)))
		}
		all := nums(f.shop, "duration_ms", nil)
		near(t, "total COUNT", d.TotalByAggregate["COUNT"], float64(len(all)))
		near(t, "total P95", d.TotalByAggregate["P95(duration_ms)"], percentile(all, 0.95))
		near(t, "total MAX", d.TotalByAggregate["MAX(duration_ms)"], slices.Max(all))

		// Series: one point per 5-minute bucket and endpoint with events.
		want := map[string]float64{}
		for _, e := range f.shop {
			ep, _ := e.Get("endpoint")
			b := time.Unix(e.Time.Unix()-e.Time.Unix()%300, 0).UTC()
			want[b.Format(time.RFC3339)+" "+ep.Str()]++
		}
		if len(d.Series) != len(want) {
			t.Errorf("%d series points, want %d", len(d.Series), len(want))
		}
		for i, p := range d.Series {
			k := p.Time.Format(time.RFC3339) + " " + p.Data["endpoint"].(string)
			near(t, "series COUNT "+k, p.Data["COUNT"], want[k])
			if p.Time.Unix()%300 != 0 || p.Time.Before(f.t0) || !p.Time.Before(f.now) {
				t.Errorf("series time %v not a bucket of the range", p.Time)
			}
			if i > 0 && p.Time.Before(d.Series[i-1].Time) {
				t.Errorf("series not in time order at %d", i)
			}
		}
	})

	t.Run("filters coerced", func(t *testing.T) {
		d := f.query(t, "shop", `{"calculations":[{"op":"COUNT"}],"filters":[{"column":"status","op":">=","value":"500"},
			{"column":"endpoint","op":"in","value":["/cart","/home"]}],"breakdowns":["endpoint"],"time_range":3600}`,
			`"disable_series":true`)
		if len(d.Results) != 2 {
			t.Fatalf("%d groups, want /cart and /home", len(d.Results))
		}
		for _, r := range d.Results {
			ep := r.Data["endpoint"].(string)
			n := 0
			for _, e := range f.shop {
				s, _ := e.Get("status")
				if byEndpoint(ep)(&e) && s.Int() >= 500 {
					n++
				}
			}
			near(t, ep+" errors", r.Data["COUNT"], float64(n))
			if ep != "/cart" && ep != "/home" {
				t.Errorf("endpoint %s passed the in filter", ep)
			}
		}
		if d.Series != nil {
			t.Errorf("series returned though disabled")
		}
	})

	t.Run("havings orders limit", func(t *testing.T) {
		counts := map[string]int{}
		avg := map[string]float64{}
		for _, ep := range e2eEndpoints {
			dur := nums(f.shop, "duration_ms", byEndpoint(ep))
			counts[ep] = len(dur)
			avg[ep] = sum(dur) / float64(len(dur))
		}
		// Keep endpoints with at least the median count, order by AVG
		// descending, show two.
		cs := slices.Sorted(func(yield func(int) bool) {
			for _, c := range counts {
				if !yield(c) {
					return
				}
			}
		})
		threshold := cs[1]
		var want []string
		for _, ep := range e2eEndpoints {
			if counts[ep] > threshold {
				want = append(want, ep)
			}
		}
		sort.Slice(want, func(i, j int) bool { return avg[want[i]] > avg[want[j]] })
		if len(want) > 2 {
			want = want[:2]
		}
		d := f.query(t, "shop", fmt.Sprintf(`{"calculations":[{"op":"COUNT"},{"op":"AVG","column":"duration_ms"}],
			"breakdowns":["endpoint"],"havings":[{"calculate_op":"COUNT","op":">","value":%d}],
			"orders":[{"op":"AVG","column":"duration_ms","order":"descending"}],"limit":2,"time_range":3600}`, threshold), "")
		var got []string
		for _, r := range d.Results {
			got = append(got, r.Data["endpoint"].(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("groups %v, want %v (counts %v, avg %v)", got, want, counts, avg)
		}
		if d.OtherByAggregate != nil {
			t.Errorf("other_by_aggregate with havings: %v", d.OtherByAggregate)
		}
	})

	t.Run("limit and other", func(t *testing.T) {
		d := f.query(t, "shop", `{"calculations":[{"op":"COUNT"}],"breakdowns":["endpoint"],"limit":1,"time_range":3600}`, `"disable_series":true`)
		if len(d.Results) != 1 {
			t.Fatalf("%d results, want 1", len(d.Results))
		}
		near(t, "other COUNT", d.OtherByAggregate["COUNT"], float64(len(f.shop))-d.Results[0].Data["COUNT"].(float64))
	})

	t.Run("rates", func(t *testing.T) {
		d := f.query(t, "shop", `{"calculations":[{"op":"RATE_MAX","column":"requests_total"},{"op":"RATE_SUM","column":"bytes"},
			{"op":"MAX","column":"requests_total"}],"time_range":3600,"granularity":60}`, "")
		// Per-minute MAX and SUM, computed here.
		maxBy, sumBy := map[int64]float64{}, map[int64]float64{}
		for _, e := range f.shop {
			b := e.Time.Unix() - e.Time.Unix()%60
			rt, _ := e.Get("requests_total")
			maxBy[b] = math.Max(maxBy[b], rt.Float())
			by, _ := e.Get("bytes")
			sumBy[b] += by.Float()
		}
		first, last := f.t0.Unix(), f.now.Unix()-60
		near(t, "RATE_MAX whole", d.Results[0].Data["RATE_MAX(requests_total)"], (maxBy[last]-maxBy[first])/float64(last-first))
		near(t, "RATE_SUM whole", d.Results[0].Data["RATE_SUM(bytes)"], (sumBy[last]-sumBy[first])/float64(last-first))
		if len(d.Series) != 60 {
			t.Fatalf("%d series points, want 60", len(d.Series))
		}
		if d.Series[0].Data["RATE_MAX(requests_total)"] != nil {
			t.Errorf("first bucket has a rate: %v", d.Series[0].Data)
		}
		for _, p := range d.Series[1:] {
			b := p.Time.Unix()
			near(t, "RATE_MAX at "+p.Time.String(), p.Data["RATE_MAX(requests_total)"], (maxBy[b]-maxBy[b-60])/60)
			near(t, "RATE_SUM at "+p.Time.String(), p.Data["RATE_SUM(bytes)"], (sumBy[b]-sumBy[b-60])/60)
		}
	})

	t.Run("raw events", func(t *testing.T) {
		d := f.query(t, "shop", `{"filters":[{"column":"user","op":"=","value":"u3"}],"limit":5,"time_range":3600}`, "")
		var want []time.Time
		for _, e := range f.shop {
			if u, ok := e.Get("user"); ok && u.Str() == "u3" {
				want = append(want, e.Time)
			}
		}
		slices.Reverse(want)
		want = want[:min(5, len(want))]
		if len(d.Events) != len(want) {
			t.Fatalf("%d events, want %d", len(d.Events), len(want))
		}
		for i, e := range d.Events {
			if e["data"].(map[string]any)["user"] != "u3" {
				t.Errorf("event %d: %v", i, e)
			}
			if ts, _ := time.Parse(time.RFC3339Nano, e["time"].(string)); !ts.Equal(want[i]) {
				t.Errorf("event %d at %v, want %v (newest first)", i, ts, want[i])
			}
		}
	})

	t.Run("all datasets and sample rates", func(t *testing.T) {
		d := f.query(t, "__all__", `{"calculations":[{"op":"COUNT"},{"op":"SUM","column":"bytes"}],"time_range":3600}`, `"disable_series":true`)
		wantCount := float64(len(f.shop) + 4*len(f.weighted))
		wantSum := sum(nums(f.shop, "bytes", nil)) + 4*sum(nums(f.weighted, "bytes", nil))
		near(t, "COUNT", d.Results[0].Data["COUNT"], wantCount)
		near(t, "SUM", d.Results[0].Data["SUM(bytes)"], wantSum)
		d = f.query(t, "weighted", `{"calculations":[{"op":"COUNT"},{"op":"AVG","column":"bytes"}],"usage_mode":true,"time_range":3600}`, `"disable_series":true`)
		near(t, "usage mode COUNT", d.Results[0].Data["COUNT"], float64(len(f.weighted)))
		near(t, "AVG", d.Results[0].Data["AVG(bytes)"], sum(nums(f.weighted, "bytes", nil))/float64(len(f.weighted)))
	})

	t.Run("null breakdown", func(t *testing.T) {
		d := f.query(t, "shop", `{"calculations":[{"op":"COUNT"}],"breakdowns":["user"],"filters":[{"column":"user","op":"does-not-exist"}],"time_range":3600}`, "")
		n := 0
		for _, e := range f.shop {
			if _, ok := e.Get("user"); !ok {
				n++
			}
		}
		if len(d.Results) != 1 || d.Results[0].Data["user"] != nil {
			t.Fatalf("results %v, want one null group", d.Results)
		}
		near(t, "COUNT", d.Results[0].Data["COUNT"], float64(n))
	})

	t.Run("calculation filters", func(t *testing.T) {
		spec := `{"calculations":[{"op":"COUNT"},{"op":"COUNT","name":"errors","filters":[{"column":"status","op":">=","value":500}]}],"time_range":3600}`
		if af, ok := f.store.(query.AggregateFilterer); !ok || !af.AggregateFilters() {
			// Until the store honours Aggregate.Where, such specs are
			// refused rather than answered wrongly.
			status, _, body := call(t, f.srv, "POST", "/1/queries/shop", "all", spec)
			if status != 400 || !strings.Contains(fmt.Sprint(body["error"]), "not supported by this store") {
				t.Errorf("calculation filters: %d %v, want 400 not supported", status, body)
			}
			return
		}
		d := f.query(t, "shop", spec, `"disable_series":true`)
		n := 0
		for _, e := range f.shop {
			if s, _ := e.Get("status"); s.Int() >= 500 {
				n++
			}
		}
		near(t, "COUNT", d.Results[0].Data["COUNT"], float64(len(f.shop)))
		near(t, "errors", d.Results[0].Data["errors"], float64(n))
	})

	t.Run("concurrency", func(t *testing.T) {
		d := f.query(t, "shop", `{"calculations":[{"op":"CONCURRENCY"}],"time_range":3600}`, `"disable_series":true`)
		if v, ok := d.Results[0].Data["CONCURRENCY"].(float64); !ok || v < 1 {
			t.Errorf("CONCURRENCY = %v, want a positive number", d.Results[0].Data["CONCURRENCY"])
		}
	})

	t.Run("waggle query", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := querycmd.Run(t.Context(), []string{"--server", f.srv.URL, "--key", "all", "--dataset", "shop",
			"--calc", "COUNT", "--calc", "MAX(duration_ms)", "--breakdown", "endpoint", "--where", "status >= 500",
			"--order", "endpoint", "--time-range", "1h"}, &out, &errOut)
		if err != nil {
			t.Fatalf("waggle query: %v (%s)", err, errOut.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 1+len(e2eEndpoints) || !strings.HasPrefix(lines[0], "endpoint") || !strings.HasPrefix(lines[1], "/cart") {
			t.Errorf("table:\n%s", out.String())
		}
	})

	t.Run("bad specs", func(t *testing.T) {
		for spec, want := range map[string]string{
			`{"calculations":[{"op":"AVG","column":"user"}]}`:                                `AVG needs a numeric column, but "user" is a string column`,
			`{"calculations":[{"op":"COUNT"}],"breakdowns":["nope"]}`:                        `unknown column "nope"`,
			`{"filters":[{"column":"status","op":"starts-with","value":"5"}]}`:               "not valid for integer column",
			`{"filters":[{"column":"status","op":"=","value":"five hundred"}]}`:              "not a valid value for integer column",
			`{"calculations":[{"op":"COUNT"}],"time_range":60,"start_time":1,"end_time":61}`: "cannot all be set",
		} {
			status, _, body := call(t, f.srv, "POST", "/1/queries/shop", "all", spec)
			if status != 400 || !strings.Contains(fmt.Sprint(body["error"]), want) {
				t.Errorf("%s: %d %v, want 400 %q", spec, status, body, want)
			}
		}
		status, _, body := call(t, f.srv, "POST", "/1/queries/nope", "all", `{}`)
		if status != 404 || body["error"] != "dataset not found" {
			t.Errorf("unknown dataset: %d %v", status, body)
		}
	})
}
