package querycmd

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestParseWhere(t *testing.T) {
	tests := []struct {
		in   string
		want string // JSON of the filter, or "" for an error
	}{
		{"status >= 500", `{"column":"status","op":">=","value":500}`},
		{"status>=500", `{"column":"status","op":">=","value":500}`},
		{"status!=404", `{"column":"status","op":"!=","value":404}`},
		{"duration_ms < 1.5", `{"column":"duration_ms","op":"<","value":1.5}`},
		{"endpoint = /api/users", `{"column":"endpoint","op":"=","value":"/api/users"}`},
		{`name = "hello world"`, `{"column":"name","op":"=","value":"hello world"}`},
		{`code = '500'`, `{"column":"code","op":"=","value":"500"}`},
		{"error = true", `{"column":"error","op":"=","value":true}`},
		{"user = null", `{"column":"user","op":"=","value":null}`},
		{"user exists", `{"column":"user","op":"exists"}`},
		{"user does-not-exist", `{"column":"user","op":"does-not-exist"}`},
		{"endpoint starts-with /api", `{"column":"endpoint","op":"starts-with","value":"/api"}`},
		{"endpoint does-not-start-with /x", `{"column":"endpoint","op":"does-not-start-with","value":"/x"}`},
		{"endpoint ends-with .json", `{"column":"endpoint","op":"ends-with","value":".json"}`},
		{"endpoint does-not-end-with .js", `{"column":"endpoint","op":"does-not-end-with","value":".js"}`},
		{"msg contains time out", `{"column":"msg","op":"contains","value":"time out"}`},
		{"msg does-not-contain ok", `{"column":"msg","op":"does-not-contain","value":"ok"}`},
		{"status in 500,502, 503", `{"column":"status","op":"in","value":[500,502,503]}`},
		{"endpoint not-in /a,/b", `{"column":"endpoint","op":"not-in","value":["/a","/b"]}`},
		{"host = NaN", `{"column":"host","op":"=","value":"NaN"}`},
		{"user exists now", ""},
		{"status >=", ""},
		{"status in", ""},
		{"status", ""},
		{"", ""},
	}
	for _, tt := range tests {
		f, err := parseWhere(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("parseWhere(%q) = %+v, want an error", tt.in, f)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseWhere(%q): %v", tt.in, err)
			continue
		}
		got := marshal(f)
		if string(got) != tt.want {
			t.Errorf("parseWhere(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseOrderHavingCalc(t *testing.T) {
	tests := []struct {
		parse func(string) (any, error)
		in    string
		want  string
	}{
		{orderAny, "COUNT desc", `{"op":"COUNT","order":"descending"}`},
		{orderAny, "-P95(duration_ms)", `{"op":"P95","column":"duration_ms","order":"descending"}`},
		{orderAny, "p95(duration_ms):desc", `{"op":"P95","column":"duration_ms","order":"descending"}`},
		{orderAny, "endpoint", `{"column":"endpoint"}`},
		{orderAny, "endpoint asc", `{"column":"endpoint"}`},
		{orderAny, " ", ""},
		{havingAny, "COUNT > 10", `{"calculate_op":"COUNT","op":">","value":10}`},
		{havingAny, "P95(duration_ms)>=2.5", `{"calculate_op":"P95","column":"duration_ms","op":">=","value":2.5}`},
		{havingAny, "endpoint > 1", ""},
		{havingAny, "COUNT > many", ""},
		{calcAny, "COUNT", `{"op":"COUNT"}`},
		{calcAny, "count_distinct(user.id)", `{"op":"COUNT_DISTINCT","column":"user.id"}`},
		{calcAny, "MEDIAN(x)", ""},
	}
	for _, tt := range tests {
		v, err := tt.parse(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%q: got %+v, want an error", tt.in, v)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		got := marshal(v)
		if string(got) != tt.want {
			t.Errorf("%q = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func orderAny(s string) (any, error)  { return parseOrder(s) }
func havingAny(s string) (any, error) { return parseHaving(s) }
func calcAny(s string) (any, error)   { return parseCalc(s) }

func TestParseSecondsAndTime(t *testing.T) {
	for in, want := range map[string]int64{"3600": 3600, "90s": 90, "2h": 7200, "7d": 604800, "1h30m": 5400} {
		if got, err := parseSeconds("time-range", in); err != nil || got != want {
			t.Errorf("parseSeconds(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"1.5s", "soon", "d", "-"} {
		if _, err := parseSeconds("time-range", in); err == nil {
			t.Errorf("parseSeconds(%q): want an error", in)
		}
	}
	if got, err := parseTime("start", "2025-03-01T12:00:00Z"); err != nil || got != 1740830400 {
		t.Errorf("parseTime = %d, %v", got, err)
	}
	if got, err := parseTime("start", "1740830400"); err != nil || got != 1740830400 {
		t.Errorf("parseTime = %d, %v", got, err)
	}
	if _, err := parseTime("start", "yesterday"); err == nil {
		t.Errorf("parseTime(yesterday): want an error")
	}
}

// marshal encodes v as compact JSON without HTML escaping.
func marshal(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return string(bytes.TrimSpace(b.Bytes()))
}
