package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// DerivedExpressions are the expressions the conformance suite computes
// through a store and, independently, with query.EvalDerived: together
// they call every function of the language and every operator. Exported
// for the query package's tests.
var DerivedExpressions = []string{
	// columns and literals
	`$name`, `$status`, `$duration_ms`, `$cached`, `$"user"`, "$`num_str`", `$missing`,
	`42`, `-7`, `2.5`, `"lit"`, "`raw\\n`", `true`, `null`,
	// operators and precedence
	`$status + 1`, `$status - 100 + 1`, `$status * 2 - 1`, `$duration_ms / 10`, `$status % 7`, `$duration_ms % 3`,
	`!$cached`, `$status < 300`, `$status <= 404`, `$duration_ms > 100`, `$duration_ms >= 50.5`,
	`$status = 200`, `$status != 200`, `$name = "GET /"`, `$duration_ms < 300 AND $status < 500`,
	`$status = 404 OR $cached`, `($status + 1) * 2`, `$name < "cache"`,
	// conditionals
	`IF($cached, "hit", "miss")`, `IF(GTE($status, 500), 1, 0)`, `IF(LT($duration_ms, 100), "fast", LT($duration_ms, 500), "normal", "slow")`,
	`IF(GTE($duration_ms, 500), "slow")`, `IF($status, $duration_ms, 0)`, `IF($name, 1, 2)`, `IF(EXISTS($user), $user, $status)`,
	`SWITCH($name, "GET /", 1, "POST /login", 2, 0)`, `SWITCH($status, 200, "ok", 404, "nf")`,
	`COALESCE($user, $name)`, `COALESCE($empty, $user, "anon")`, `COALESCE($status, $duration_ms)`,
	// comparisons
	`LT($status, 404)`, `LTE($duration_ms, $status)`, `GT($name, $user)`, `GTE($status, 200.5)`,
	`EQUALS($status, 200)`, `EQUALS($status, 200.0)`, `EQUALS($status, "200")`, `EQUALS($user, null)`, `EQUALS($cached, false)`,
	`IN($status, 404, 500)`, `IN($name, "db.query", "cache.get", 1)`,
	// boolean
	`EXISTS($user)`, `EXISTS(null)`, `NOT($cached)`, `NOT($status)`, `AND($cached, EXISTS($status), GT($duration_ms, 10))`,
	`OR(EQUALS($status, 500), $cached)`, `AND("true", 1)`, `BOOL($num_str)`, `BOOL($duration_ms)`,
	// math
	`SUM($status, 1, 2)`, `SUM($duration_ms, $status)`, `SUM($num_str, 1)`, `SUB($status, $missing)`, `MUL($status, 3)`, `MUL($duration_ms, 0.5)`,
	`DIV($status, 8)`, `DIV($duration_ms, $status)`, `DIV(1, 0)`, `MOD($status, 0)`, `MOD(-7, 3)`, `MOD($duration_ms, 7.5)`,
	`MIN($status, 300, $duration_ms)`, `MAX($status, 250)`, `MIN($status)`, `LOG10($status)`, `LOG10($duration_ms)`, `LOG10(0)`,
	`BUCKET($duration_ms, 100)`, `BUCKET($status, 100, 250, 450)`, `BUCKET($duration_ms, 50, 0, 400)`, `BUCKET($status, 0)`,
	// casts
	`INT($duration_ms)`, `INT($num_str)`, `INT($cached)`, `INT("-12")`, `FLOAT($num_str)`, `FLOAT($status)`, `FLOAT($cached)`,
	`STRING($status)`, `STRING($cached)`, `STRING(null)`,
	// strings
	`CONCAT($name, "|", $status, "|", $user)`, `CONCAT($cached)`, `STARTS_WITH($name, "GET")`, `ENDS_WITH($name, "query")`,
	`CONTAINS($name, "/")`, `CONTAINS($status, "0")`, `TO_LOWER($name)`, `TO_LOWER("ÄÖ Straße")`, `LENGTH($name)`, `LENGTH($uni)`,
	`LENGTH($uni, "bytes")`, `LENGTH(null)`,
	// regular expressions
	"REG_MATCH($name, `^(GET|POST) `)", "REG_VALUE($name, `^[A-Z]+`)", "REG_VALUE($path, `/users/([0-9]+)`)",
	"REG_VALUE($path, `x(y)?`)", "REG_COUNT($path, `[0-9]+`)", "REG_COUNT($missing, `a`)",
	// time
	`EVENT_TIMESTAMP()`, `UNIX_TIMESTAMP($when)`, `FORMAT_TIME("%Y-%m-%d %H:%M:%S %y %j %%", $epoch)`,
	`FORMAT_TIME("%H", EVENT_TIMESTAMP())`, `INT(FORMAT_TIME("%M", EVENT_TIMESTAMP())) < 30`,
	// the SLI of docs/guides/slos.md
	`AND(LT($duration_ms, 300), LT($status, 500))`,
}

// derivedEvents are events with every kind of value the expressions read.
func derivedEvents(ds string, n int) []event.Event {
	r := rand.New(rand.NewPCG(7, 11))
	names := []string{"GET /", "GET /users", "POST /login", "db.query", "cache.get"}
	numStrs := []string{"12", "-3", "4.25", "abc", "", "true", "1e3", "007"}
	paths := []string{"/users/42/orders/7", "/users/x", "/health", "/xy/x", "/users/123"}
	whens := []string{"2024-01-02T03:04:05Z", "2023-12-31T23:59:59Z", "not a time", "2024-02-29T12:00:00Z"}
	unis := []string{"héllo", "日本語", "plain", ""}
	t0 := base()
	evs := make([]event.Event, n)
	for i := range evs {
		e := event.Event{Time: t0.Add(time.Duration(r.Int64N(int64(time.Hour)))).Truncate(time.Millisecond), Dataset: ds, SampleRate: 1}
		e.Set("name", event.String(names[r.IntN(len(names))]))
		if r.IntN(10) < 8 {
			e.Set("status", event.Int([]int64{200, 200, 200, 404, 500, 0}[r.IntN(6)]))
		}
		if r.IntN(4) == 0 {
			e.Set("duration_ms", event.Int(r.Int64N(1000)))
		} else if r.IntN(10) > 0 {
			e.Set("duration_ms", event.Float(math.Round(r.ExpFloat64()*20000)/100))
		}
		if r.IntN(3) == 0 {
			e.Set("user", event.String(fmt.Sprintf("user-%02d", r.IntN(20))))
		}
		if r.IntN(2) == 0 {
			e.Set("cached", event.Bool(r.IntN(2) == 0))
		}
		if r.IntN(3) > 0 {
			e.Set("num_str", event.String(numStrs[r.IntN(len(numStrs))]))
		}
		if r.IntN(3) > 0 {
			e.Set("path", event.String(paths[r.IntN(len(paths))]))
		}
		if r.IntN(2) == 0 {
			e.Set("when", event.String(whens[r.IntN(len(whens))]))
		}
		if r.IntN(2) == 0 {
			e.Set("epoch", event.Int(1700000000+r.Int64N(100000000)))
		} else if r.IntN(3) == 0 {
			e.Set("epoch", event.Int(1700000000+r.Int64N(100000000)))
		}
		if r.IntN(2) == 0 {
			e.Set("uni", event.String(unis[r.IntN(len(unis))]))
		}
		if r.IntN(4) == 0 {
			e.Set("empty", event.String(""))
		}
		evs[i] = e
	}
	return evs
}

// testDerived computes every expression of DerivedExpressions through the
// store (breakdowns on it for exact types, SUM/MIN/MAX for floats, filters
// and per-calculation filters on booleans) and compares with EvalDerived.
func testDerived(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	const env = event.EnvID(1)
	evs := derivedEvents("derived", 400)
	write(t, s, env, evs)
	sc, err := s.Columns(context.Background(), env, "derived")
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string]query.ColumnInfo{}
	for _, c := range sc {
		cols[c.Name] = query.ColumnInfo{Type: c.Type}
	}
	t0 := base()
	for i, src := range DerivedExpressions {
		t.Run(fmt.Sprintf("%02d", i), func(t *testing.T) {
			dc, err := query.ResolveDerived("dc", src, cols, false)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			want := make([]event.Value, len(evs))
			for j := range evs {
				e := &evs[j]
				want[j] = query.EvalDerived(dc.Expr, func(c string) event.Value { v, _ := e.Get(c); return v }, e.Time)
			}
			p := query.Plan{
				Datasets: []string{"derived"}, Start: t0, End: t0.Add(time.Hour),
				Derived: map[string]query.DerivedColumn{"dc": dc}, Limit: 10000,
			}
			if dc.Type == event.TypeFloat {
				p.Aggregates = []query.Aggregate{{Op: query.AggSum, Column: "dc"}, {Op: query.AggMin, Column: "dc"},
					{Op: query.AggMax, Column: "dc"}, {Op: query.AggCount, Where: &query.AggFilter{Filters: []query.Filter{{Column: "dc", Op: query.OpExists}}}}}
				res := execute(t, s, env, &p)
				var sum, mn, mx, n float64
				mn, mx = math.Inf(1), math.Inf(-1)
				for _, v := range want {
					if v.IsNull() {
						continue
					}
					f := v.Float()
					sum += f
					mn, mx = math.Min(mn, f), math.Max(mx, f)
					n++
				}
				if len(res.Groups) != 1 {
					t.Fatalf("%s: %d groups", src, len(res.Groups))
				}
				g := res.Groups[0].Values
				if n == 0 {
					if !g[0].Null || !g[1].Null || g[3].Number != 0 {
						t.Errorf("%s: no values expected, got %+v", src, g)
					}
					return
				}
				for k, w := range []float64{sum, mn, mx, n} {
					if g[k].Null || !closeEnough(g[k].Number, w) {
						t.Errorf("%s: aggregate %d = %+v, want %v", src, k, g[k], w)
					}
				}
				return
			}
			p.Breakdowns = []string{"dc"}
			p.Aggregates = []query.Aggregate{{Op: query.AggCount}}
			res := execute(t, s, env, &p)
			got := map[string]float64{}
			for _, g := range res.Groups {
				got[derivedKey(g.Key[0], dc.Type)] += g.Values[0].Number
			}
			exp := map[string]float64{}
			for _, v := range want {
				exp[derivedKey(v, dc.Type)]++
			}
			if d := diffCounts(got, exp); d != "" {
				t.Errorf("%s (%v): store and EvalDerived differ:\n%s", src, dc.Type, d)
			}
			if dc.Type != event.TypeBool {
				return
			}
			// A boolean as a filter and as a per-calculation filter (SLIs).
			good, bad := 0.0, 0.0
			for _, v := range want {
				switch {
				case v.IsNull():
				case v.Bool():
					good++
				default:
					bad++
				}
			}
			p.Breakdowns = nil
			p.Filters = []query.Filter{{Column: "dc", Op: query.OpExists}}
			p.Aggregates = []query.Aggregate{
				{Op: query.AggCount, Where: &query.AggFilter{Filters: []query.Filter{{Column: "dc", Op: query.OpEq, Value: event.Bool(true)}}}},
				{Op: query.AggCount, Where: &query.AggFilter{Filters: []query.Filter{{Column: "dc", Op: query.OpEq, Value: event.Bool(false)}}}},
				{Op: query.AggCount},
			}
			res = execute(t, s, env, &p)
			g := res.Groups[0].Values
			if g[0].Number != good || g[1].Number != bad || g[2].Number != good+bad {
				t.Errorf("%s: good/bad/total = %v/%v/%v, want %v/%v/%v", src, g[0].Number, g[1].Number, g[2].Number, good, bad, good+bad)
			}
		})
	}
}

// derivedKey renders a value of an expression of type t for comparison
// (stores without a boolean type return 0/1).
func derivedKey(v event.Value, t event.Type) string {
	if v.IsNull() {
		return "<null>"
	}
	if t == event.TypeBool && v.Type() != event.TypeBool {
		return fmt.Sprint(v.Float() != 0)
	}
	return v.Text()
}

func diffCounts(got, want map[string]float64) string {
	var keys []string
	seen := map[string]bool{}
	for k := range got {
		keys, seen[k] = append(keys, k), true
	}
	for k := range want {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if got[k] != want[k] {
			fmt.Fprintf(&b, "  %q: store %v, want %v\n", k, got[k], want[k])
		}
	}
	return b.String()
}
