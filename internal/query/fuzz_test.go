package query

import (
	"testing"
)

// FuzzParseSpec checks that no input makes parsing, compiling, running or
// canonicalizing a spec panic, and that a valid spec's canonical form parses
// back to the same ID.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"calculations":[{"op":"COUNT"},{"op":"P95","column":"duration_ms"}],"breakdowns":["endpoint"],"orders":[{"op":"COUNT","order":"descending"}],"havings":[{"calculate_op":"COUNT","op":">","value":1}],"limit":10,"time_range":3600,"granularity":60}`,
		`{"filters":[{"column":"status","op":"in","value":[1,"2",3.5]}],"filter_combination":"OR"}`,
		`{"calculations":[{"op":"RATE_SUM","column":"bytes"}],"orders":[{"op":"RATE_SUM","column":"bytes"}]}`,
		`{"calculations":[{"op":"HEATMAP","column":"duration_ms"}],"start_time":1,"end_time":2}`,
		`{"calculations":[{"op":"COUNT","name":"n","filters":[{"column":"user","op":"exists"}]}],"orders":[{"column":"n"}]}`,
		`{"filters":[{"column":"duration_ms","op":">","value":"NaN"}]}`,
		`{"filters":[{"column":"status","op":"=","value":[[[[[]]]]]}]}`,
		`{"time_range":9223372036854775807,"granularity":-9223372036854775808}`,
		`{"limit":-1}`,
		`[`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ParseSpec(data)
		if err != nil {
			if !IsSpecError(err) {
				t.Fatalf("ParseSpec error %v is not a *Error", err)
			}
			return
		}
		id, err := spec.ID()
		if err != nil {
			t.Fatalf("ID: %v", err)
		}
		canon, _ := spec.Canonical()
		again, err := ParseSpec(canon)
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", canon, err)
		}
		if id2, _ := again.ID(); id2 != id {
			t.Fatalf("canonical form %s has ID %s, want %s", canon, id2, id)
		}
		e := NewEngine(&fakeExecutor{}, fakeCatalog{})
		for _, opts := range []Options{{Now: testNow}, {Now: testNow, DisableSeries: true, Limit: 5000}} {
			out, err := e.Run(t.Context(), 1, []string{"api"}, spec, opts)
			if err != nil {
				if !IsSpecError(err) {
					t.Fatalf("Run error %v is not a *Error", err)
				}
				continue
			}
			if out.Results == nil {
				t.Fatalf("Run returned nil results")
			}
		}
	})
}
