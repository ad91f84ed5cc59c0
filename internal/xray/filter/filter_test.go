package filter

import (
	"strings"
	"testing"
)

func TestEvalTable(t *testing.T) {
	traces := fixtures(t)
	for _, c := range []struct{ expr, want string }{
		{``, "ABCD"},
		{`fault`, "C"},
		{`!fault`, "ABD"},
		{`fault = false`, "ABD"},
		{`fault != true`, "ABD"},
		{`error`, "B"},
		{`ok`, "AD"},
		{`throttle`, "B"},
		{`partial`, "C"},
		{`!partial`, "ABD"},
		{`responsetime > 1`, "BD"},
		{`responseTime < 0.3`, "A"},
		{`duration > 1`, "BD"},
		{`http.status = 404`, "B"},
		{`http.status >= 400`, "BC"},
		{`http.url BEGINSWITH "http://api.example.com/" AND http.url CONTAINS "/v2/"`, "AD"},
		{`http.url ENDSWITH "/job"`, "C"},
		{`http.method = "POST"`, "D"},
		{`http.method != "POST"`, "ABC"},
		{`http.useragent = "curl/8"`, "A"},
		{`http.clientip = "10.0.0.1"`, "A"},
		{`user = "alice"`, "A"},
		{`user CONTAINS ""`, "AB"},
		{`annotation.gameid = "817DL6VO"`, "A"},
		{`annotation.age > 29`, "A"},
		{`annotation.age <= 20`, "B"},
		{`annotation.age`, "AB"},
		{`!annotation.age`, "CD"},
		{`annotation.vip = true`, "A"},
		{`annotation.flag`, "C"},
		{`annotation.age = "31"`, ""}, // a number is not a string
		{`service("backend") { fault }`, "A"},
		{`service("api") { fault }`, ""},
		{`service("api")`, "ABD"},
		{`service() { fault }`, "AC"},
		{`service("DynamoDB")`, "D"},
		{`service(id(name: "DynamoDB", type: "AWS::DynamoDB"))`, "D"},
		{`id(name: "api", type: "AWS::EC2::Instance")`, "A"},
		{`service("api") { responsetime > 1 }`, "BD"},
		{`service("worker") {root = true and fault = true}`, "C"},
		{`edge("api", "backend")`, "A"},
		{`edge("api", "backend") { fault }`, "A"},
		{`edge("api", "ratelimited") { throttle }`, "B"},
		{`edge("api", "DynamoDB")`, "D"},
		{`edge("backend", "api")`, ""},
		{`name = "step"`, "C"},
		{`message CONTAINS "db"`, "A"},
		{`type = "AWS::EC2::Instance"`, "A"},
		{`availabilityzone = "us-east-1a"`, "A"},
		{`instance.id = "i-123"`, "A"},
		{`http.url BEGINSWITH "http://api.example.com/" AND !service("backend")`, "BD"},
		{`fault OR error`, "BC"},
		{`fault || error`, "BC"},
		{`ok duration < 1`, "A"},
		{`(fault OR throttle) AND !partial`, "B"},
		{`NOT fault && responsetime < 1`, "A"},
		{`group.name = "faulty"`, "C"},
		{`group.name != "faulty"`, "ABD"},
		{`group.name = "apis" AND user = "bob"`, "B"},
		{`group.arn = "arn:aws:xray:us-east-1:000000000001:group/faulty/X"`, "C"},
		{`group.name = "nope"`, ""},
		{`group.name = "self"`, ""}, // a group naming itself stops, matching nothing
	} {
		e, err := Parse(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		got := ""
		for _, n := range fixtureOrder {
			if Eval(e, traces[n], testGroups) {
				got += n
			}
		}
		if got != c.want {
			t.Errorf("%s (%s): matches %q, want %q", c.expr, e, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ expr, msg string }{
		{`rootcause.fault.service { name = "x" }`, `at 0: rootcause keywords are not supported`},
		{`http.status = "x"`, `at 14: http.status compares with a number or boolean, not a string`},
		{`user > "a"`, `at 5: operator > does not apply to strings`},
		{`foo = 1`, `at 0: unknown keyword "foo"`},
		{`service("a"`, `at 11: expected ")", found ""`},
		{`http.url = "abc`, `at 11: unterminated string`},
		{`responsetime`, `at 0: responsetime needs an operator and a value`},
		{`fault = 3`, `at 8: fault compares with true or false`},
		{`(fault`, `at 6: expected ")", found ""`},
		{`fault $`, `at 6: unexpected character '$'`},
		{`fault AND`, `at 9: expected a keyword, found ""`},
		{`annotation. = 1`, `at 0: annotation needs a key`},
		{`group.name > "x"`, `at 11: group.name takes = or !=`},
		{`edge("a") { fault }`, `at 8: expected ",", found ")"`},
		{`id(name: "a", color: "b")`, `at 14: id() takes name, type and account.id`},
		{strings.Repeat("(", 100) + "fault" + strings.Repeat(")", 100), `expression nested too deeply`},
		{strings.Repeat("x", MaxLength+1), `at 0: expression longer than 4000 characters`},
	} {
		_, err := Parse(c.expr)
		if err == nil {
			t.Errorf("%s: parsed", c.expr)
			continue
		}
		if !strings.HasPrefix(err.Error(), "Invalid filter expression ") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%.40s: %q, want %q", c.expr, err, c.msg)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	traces := fixtures(t)
	for _, s := range []string{
		`service("backend") { fault } OR (ok AND annotation.age > 29)`,
		`!(http.url ENDSWITH "/x" OR http.url ENDSWITH "/y") AND user CONTAINS "a"`,
		`edge(id(name: "api", type: "AWS::EC2::Instance"), "backend") { responsetime >= 0.01 }`,
		`group.name != "faulty" annotation.vip = true`,
	} {
		e, err := Parse(s)
		if err != nil {
			t.Fatal(s, err)
		}
		e2, err := Parse(e.String())
		if err != nil {
			t.Fatalf("%s → %s: %v", s, e, err)
		}
		for n, tr := range traces {
			if Eval(e, tr, testGroups) != Eval(e2, tr, testGroups) {
				t.Errorf("%s: %s differs on %s", s, e, n)
			}
		}
	}
}

func TestPushdown(t *testing.T) {
	cols := map[string]struct{}{}
	_ = cols
	e, _ := Parse(`http.status = 500 AND responsetime > 2 AND (fault OR error) AND http.url CONTAINS "/api/" AND service("x")`)
	fs := Pushdown(e, colsOf("http.status_code", "duration_ms", "error", "http.url"))
	var got []string
	for _, f := range fs {
		got = append(got, f.Column+" "+f.Op+" "+string(f.Value))
	}
	want := "http.status_code = 500|duration_ms > 2000|http.url contains \"/api/\""
	if strings.Join(got, "|") != want {
		t.Fatalf("%q", got)
	}
	// A column other protocols also fill (OTLP's http.response.status_code)
	// is not pushed: the trace may carry the value in the other column.
	if fs := Pushdown(e, colsOf("http.status_code", "http.response.status_code")); len(fs) != 0 {
		t.Fatalf("%+v", fs)
	}
	// OR is not pushed.
	e, _ = Parse(`http.status = 500 OR fault`)
	if fs := Pushdown(e, colsOf("http.status_code", "error")); len(fs) != 0 {
		t.Fatalf("%+v", fs)
	}
}
