package filter

import (
	"testing"
)

// FuzzFilterExpression parses arbitrary text and evaluates what parses on
// the fixture traces (with groups, including a self-referencing one); a
// parsed expression's String form must parse again. Nothing may panic.
// Seeds: every expression of the unit tests, the reference's examples and
// the error cases (also committed under testdata/fuzz).
func FuzzFilterExpression(f *testing.F) {
	for _, s := range []string{
		`service("api.example.com") { fault }`, `edge("api.example.com", "backend.example.com") { error }`,
		`http.url BEGINSWITH "http://api.example.com/" AND http.url CONTAINS "/v2/" AND !service("api.example.com")`,
		`annotation.gameid = "817DL6VO"`, `annotation.age > 29`, `group.name = "high_response_time" AND user = "alice"`,
		`service("data-plane") {root = true and fault = true}`, `fault = true AND http.url CONTAINS "example/game" AND responsetime >= 5`,
		`ok !partial duration <3`, `!(http.url ENDSWITH "/x" OR http.url ENDSWITH "/y")`,
		`id(name: "a", type: "AWS::Lambda::Function", account.id: "1")`, `service() { fault }`, `user CONTAINS ""`,
		`rootcause.fault.service { name = "x" }`, `http.status = "x"`, `(fault`, `fault $`, `"unterminated`, `1e999`,
		`group.name = "self"`, `annotation.x = -1.5e-3`, `NOT (fault || error) && throttle`,
	} {
		f.Add(s)
	}
	traces := fixtures(f)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%T: %v", err, err)
			}
			return
		}
		for _, n := range fixtureOrder {
			_ = Eval(e, traces[n], testGroups)
		}
		if _, err := Parse(e.String()); err != nil {
			t.Fatalf("%q → %q: %v", s, e.String(), err)
		}
		_ = Pushdown(e, colsOf("http.status_code", "duration_ms", "error", "http.url", "http.method"))
	})
}
