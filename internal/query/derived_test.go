package query

import (
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

var derivedTestCols = map[string]ColumnInfo{
	"duration_ms": {Type: event.TypeFloat}, "status": {Type: event.TypeInt}, "name": {Type: event.TypeString},
	"ok": {Type: event.TypeBool}, "a.b/c:d=e+f?g-h": {Type: event.TypeInt}, "my col": {Type: event.TypeString},
}

func TestDerivedParseAndEval(t *testing.T) {
	ev := map[string]event.Value{"duration_ms": event.Float(250), "status": event.Int(503), "name": event.String("GET /x"),
		"ok": event.Bool(true), "a.b/c:d=e+f?g-h": event.Int(7), "my col": event.String("v")}
	get := func(c string) event.Value { return ev[c] }
	cases := []struct{ src, want string }{
		{`$duration_ms < 300 AND $status < 500`, "false"},
		{`1 + 2 * 3`, "7"},
		{`10 - 2 - 3`, "5"},
		{`(1 + 2) * 3`, "9"},
		{`!$ok OR $status >= 500`, "true"},
		{`$status = 503.0`, "true"},
		{`$status != 503`, "false"},
		{`EQUALS($status, "503")`, "false"},
		{`$a.b/c:d=e+f?g-h * 2`, "14"},
		{`$"my col"`, "v"},
		{"$`my col`", "v"},
		{`IF(LT($duration_ms, 100), "fast", LT($duration_ms, 500), "normal", "slow")`, "normal"},
		{`IF(false, 1)`, ""},
		{`SWITCH($status, 200, "ok", 503, "unavailable", "other")`, "unavailable"},
		{`COALESCE(null, "", $name)`, "GET /x"},
		{`DIV(1, 0)`, ""},
		{`DIV(7, 2)`, "3.5"},
		{`MOD(-7, 3)`, "-1"},
		{`BUCKET($duration_ms, 100, 0, 200)`, "200"},
		{`INT(-2.7)`, "-2"},
		{`INT("12")`, "12"},
		{`INT("1.5")`, ""},
		{`FLOAT("2.5")`, "2.5"},
		{`BOOL("true")`, "true"},
		{`SUM("2.5", null, 1)`, "3.5"},
		{`CONCAT($name, "-", null, $status, true)`, "GET /x-503true"},
		{`LENGTH("日本", "bytes")`, "6"},
		{`LENGTH("日本",)`, "2"},
		{"REG_VALUE($name, `([A-Z]+) /(.*)`)", "GET"},
		{"REG_COUNT(\"a1b22c333\", `[0-9]+`)", "3"},
		{`UNIX_TIMESTAMP("2024-01-02T03:04:05Z")`, "1704164645"},
		{`FORMAT_TIME("%Y-%m-%dT%H:%M:%S %j %%", 1704164645)`, "2024-01-02T03:04:05 002 %"},
		{`EVENT_TIMESTAMP()`, "1.7e+09"},
		{`-5 + -2.5`, "-7.5"},
		{`"a\tb"`, "a\tb"},
		{`null`, ""},
	}
	for _, c := range cases {
		x, err := ParseDerived(c.src)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if err := CheckDerived(x, derivedTestCols, true); err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		got := EvalDerived(x, get, time.Unix(1700000000, 0)).Text()
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.src, got, c.want)
		}
		// String round-trips.
		y, err := ParseDerived(x.String())
		if err != nil || y.String() != x.String() {
			t.Errorf("%s: String %q does not round-trip: %v", c.src, x.String(), err)
		}
	}
}

func TestDerivedErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{``, "empty"},
		{`$`, "column name must follow $"},
		{`SUM(1, 2`, "expected ',' or ')'"},
		{`FOO(1)`, "unknown function FOO"},
		{`$nope`, "unknown column $nope"},
		{`LT($name, 3)`, "compares two numbers or two strings"},
		{`SUM($ok, 1)`, "needs numbers"},
		{`IF(1)`, "IF takes at least 2 arguments, not 1"},
		{`SUB(1, 2, 3)`, "SUB takes 2 arguments, not 3"},
		{"REG_MATCH($name, `(`)", "invalid regular expression"},
		{`REG_MATCH($name, $name)`, "must be a string literal"},
		{`INGEST_TIMESTAMP()`, "INGEST_TIMESTAMP is not available"},
		{`FORMAT_TIME("%A", 1)`, "supported conversions"},
		{`LENGTH($name, "words")`, `"bytes" or "chars"`},
		{`"unterminated`, "unterminated string"},
		{`1 2`, "unexpected '2' after the expression"},
		{`status`, "columns start with $"},
		{`99999999999999999999999e999`, "out of range"},
		{strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200), "nested too deeply"},
	}
	for _, c := range cases {
		x, err := ParseDerived(c.src)
		if err == nil {
			err = CheckDerived(x, derivedTestCols, true)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.src, err, c.want)
		}
	}
}

// FuzzDerivedExpression checks that the parser never panics, that whatever
// parses renders (String) to an expression that parses to the same tree,
// and that checked expressions evaluate without panicking.
func FuzzDerivedExpression(f *testing.F) {
	for _, s := range []string{
		`$duration_ms < 300 AND $status < 500`, `IF(LT($a, 1), "x", $b, 2, null)`, "REG_VALUE($name, `([a-z]+)`)",
		`SWITCH($status, 200, "ok", "other",)`, `!($a = -1.5e3) OR $"q \"x\"" != .5`, `COALESCE($x, "", 1)`,
		`FORMAT_TIME("%Y", EVENT_TIMESTAMP())`, `BUCKET($duration_ms, 10, 0, 100) % 7 - 2 + 3`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		x, err := ParseDerived(src)
		if err != nil {
			return
		}
		s := x.String()
		y, err := ParseDerived(s)
		if err != nil {
			t.Fatalf("%q rendered as %q, which does not parse: %v", src, s, err)
		}
		if y.String() != s {
			t.Fatalf("%q: %q re-renders as %q", src, s, y.String())
		}
		if CheckDerived(x, derivedTestCols, false) != nil {
			return
		}
		ev := map[string]event.Value{"duration_ms": event.Float(1.5), "status": event.Int(-3), "name": event.String("abc")}
		EvalDerived(x, func(c string) event.Value { return ev[c] }, time.Unix(0, 0))
	})
}
