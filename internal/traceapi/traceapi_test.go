package traceapi

import "testing"

func TestNormalizeTraceID(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"4BF92F3577B34DA6A3CE929D0E0E4736", "4bf92f3577b34da6a3ce929d0e0e4736", true},
		{"00000000000000004bf92f3577b34da6", "4bf92f3577b34da6", true},
		{"4bf92f3577b34da6", "4bf92f3577b34da6", true},
		{"4bf92f3577b34da", "", false},
		{"4bf92f3577b34da6a3ce929d0e0e47360", "", false},
		{"zbf92f3577b34da6a3ce929d0e0e4736", "", false},
		{"", "", false},
	} {
		got, ok := NormalizeTraceID(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("NormalizeTraceID(%q) = %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseWhere(t *testing.T) {
	for _, c := range []struct{ in, col, op, val string }{
		{"http.status_code >= 500", "http.status_code", ">=", `"500"`},
		{"duration_ms>100", "duration_ms", ">", `"100"`},
		{"name = GET /cart", "name", "=", `"GET /cart"`},
		{`name != "a b"`, "name", "!=", `"a b"`},
		{"db.system exists", "db.system", "exists", ``},
		{"error does-not-exist", "error", "does-not-exist", ``},
		{"route starts-with /api", "route", "starts-with", `"/api"`},
		{"region in us, 'eu'", "region", "in", `["us","eu"]`},
	} {
		f, err := ParseWhere(c.in)
		if err != nil || f.Column != c.col || f.Op != c.op || string(f.Value) != c.val {
			t.Errorf("ParseWhere(%q) = %+v %s, %v", c.in, f, f.Value, err)
		}
	}
	for _, bad := range []string{"", "x", "x bogus 1", "x =", "x exists 3"} {
		if _, err := ParseWhere(bad); err == nil {
			t.Errorf("ParseWhere(%q) accepted", bad)
		}
	}
}
