package query

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateSpec(t *testing.T) {
	long := strings.Repeat("x", MaxNameLen+1)
	many := func(item string, n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = item
		}
		return strings.Join(parts, ",")
	}
	tests := []struct {
		name string
		spec string
		opts Options
		// want is a substring of the error; empty for a valid spec.
		want string
	}{
		// Valid specs.
		{"empty is raw events", `{}`, Options{}, ""},
		{"count", `{"calculations":[{"op":"COUNT"}]}`, Options{}, ""},
		{"lower case op", `{"calculations":[{"op":"p95","column":"duration_ms"}]}`, Options{}, ""},
		{"all ops", `{"calculations":[{"op":"COUNT"},{"op":"CONCURRENCY"},{"op":"SUM","column":"bytes"},{"op":"AVG","column":"duration_ms"},{"op":"MIN","column":"status"},{"op":"MAX","column":"status"},{"op":"COUNT_DISTINCT","column":"user"},{"op":"HEATMAP","column":"duration_ms"},{"op":"RATE_SUM","column":"bytes"},{"op":"RATE_AVG","column":"bytes"},{"op":"RATE_MAX","column":"bytes"},{"op":"P001","column":"duration_ms"},{"op":"P01","column":"duration_ms"},{"op":"P05","column":"duration_ms"},{"op":"P10","column":"duration_ms"},{"op":"P20","column":"duration_ms"},{"op":"P25","column":"duration_ms"},{"op":"P50","column":"duration_ms"},{"op":"P75","column":"duration_ms"},{"op":"P80","column":"duration_ms"},{"op":"P90","column":"duration_ms"},{"op":"P95","column":"duration_ms"},{"op":"P99","column":"duration_ms"},{"op":"P999","column":"duration_ms"}]}`, Options{}, ""},
		{"count distinct on string", `{"calculations":[{"op":"COUNT_DISTINCT","column":"endpoint"}]}`, Options{}, ""},
		{"every filter op", `{"filters":[{"column":"status","op":"=","value":200},{"column":"status","op":"!=","value":"404"},{"column":"status","op":">","value":1},{"column":"status","op":">=","value":1.5},{"column":"status","op":"<","value":600},{"column":"status","op":"<=","value":599},{"column":"endpoint","op":"starts-with","value":"/api"},{"column":"endpoint","op":"does-not-start-with","value":"/x"},{"column":"endpoint","op":"ends-with","value":"s"},{"column":"endpoint","op":"does-not-end-with","value":"z"},{"column":"user","op":"exists"},{"column":"user","op":"does-not-exist"},{"column":"endpoint","op":"contains","value":"pi"},{"column":"endpoint","op":"does-not-contain","value":"q"},{"column":"status","op":"in","value":[200,"201"]},{"column":"endpoint","op":"not-in","value":["/a",5]},{"column":"error","op":"=","value":"true"},{"column":"user","op":"=","value":null}]}`, Options{}, ""},
		{"breakdowns orders havings", `{"calculations":[{"op":"COUNT"},{"op":"P95","column":"duration_ms","name":"p95"}],"breakdowns":["endpoint","status"],"orders":[{"op":"COUNT","order":"descending"},{"column":"endpoint"},{"column":"p95","order":"ascending"},{"op":"P95","column":"duration_ms"}],"havings":[{"calculate_op":"COUNT","op":">","value":10},{"calculate_op":"P95","column":"p95","op":"<=","value":100}],"limit":50}`, Options{}, ""},
		{"breakdown only has implicit count", `{"breakdowns":["endpoint"],"orders":[{"op":"COUNT","order":"descending"}]}`, Options{}, ""},
		{"start and end", `{"start_time":1700000000,"end_time":1700003600,"calculations":[{"op":"COUNT"}]}`, Options{}, ""},
		{"start and range", `{"start_time":1700000000,"time_range":600}`, Options{}, ""},
		{"end and range", `{"end_time":1700000000,"time_range":600}`, Options{}, ""},
		{"granularity at bounds", `{"time_range":10000,"granularity":10,"calculations":[{"op":"COUNT"}]}`, Options{}, ""},
		{"compare offset", `{"time_range":3600,"compare_time_offset_seconds":86400}`, Options{}, ""},
		{"usage mode", `{"usage_mode":true,"calculations":[{"op":"COUNT"}]}`, Options{}, ""},
		{"limit 10000 without series", `{"calculations":[{"op":"COUNT"}]}`, Options{DisableSeries: true, Limit: 10000}, ""},
		{"calculation filters", `{"calculations":[{"op":"COUNT","name":"errors","filters":[{"column":"status","op":">=","value":500}],"filter_combination":"OR"}]}`, Options{}, ""},
		{"echoed id is ignored", `{"id":"abc","calculations":[{"op":"COUNT"}]}`, Options{}, ""},

		// Invalid specs.
		{"not an object", `[]`, Options{}, "must be a JSON object"},
		{"empty body", ``, Options{}, "empty"},
		{"trailing data", `{} {}`, Options{}, "data after"},
		{"syntax", `{"calculations":`, Options{}, "not valid"},
		{"unknown field", `{"calculation":[]}`, Options{}, `unknown field "calculation"`},
		{"wrong type", `{"limit":"ten"}`, Options{}, "limit: must be an integer"},
		{"unknown op", `{"calculations":[{"op":"MEDIAN","column":"duration_ms"}]}`, Options{}, `unknown calculation op "MEDIAN"`},
		{"op needs column", `{"calculations":[{"op":"SUM"}]}`, Options{}, "SUM column name is empty"},
		{"count takes no column", `{"calculations":[{"op":"COUNT","column":"x"}]}`, Options{}, "COUNT takes no column"},
		{"unknown calc column", `{"calculations":[{"op":"AVG","column":"nope"}]}`, Options{}, `unknown column "nope"`},
		{"sum on string", `{"calculations":[{"op":"SUM","column":"endpoint"}]}`, Options{}, `SUM needs a numeric column, but "endpoint" is a string column`},
		{"avg on string", `{"calculations":[{"op":"AVG","column":"user"}]}`, Options{}, "AVG needs a numeric column"},
		{"percentile on string", `{"calculations":[{"op":"P99","column":"user"}]}`, Options{}, "P99 needs a numeric column"},
		{"heatmap on string", `{"calculations":[{"op":"HEATMAP","column":"endpoint"}]}`, Options{}, "HEATMAP needs a numeric column"},
		{"rate on bool", `{"calculations":[{"op":"RATE_SUM","column":"error"}]}`, Options{}, "RATE_SUM needs a numeric column, but \"error\" is a boolean column"},
		{"sum on untyped", `{"calculations":[{"op":"SUM","column":"mystery"}]}`, Options{}, "is a string column"},
		{"duplicate calc", `{"calculations":[{"op":"COUNT"},{"op":"count"}]}`, Options{}, `duplicate calculation "COUNT"`},
		{"name collides with breakdown", `{"calculations":[{"op":"COUNT","name":"endpoint"}],"breakdowns":["endpoint"]}`, Options{}, "same name as a breakdown"},
		{"unknown filter op", `{"filters":[{"column":"status","op":"~","value":1}]}`, Options{}, `unknown filter op "~"`},
		{"unknown filter column", `{"filters":[{"column":"nope","op":"=","value":1}]}`, Options{}, `filters[0].column: unknown column "nope"`},
		{"string op on int", `{"filters":[{"column":"status","op":"contains","value":"5"}]}`, Options{}, `filter op contains is not valid for integer column "status"`},
		{"ordering on bool", `{"filters":[{"column":"error","op":">","value":true}]}`, Options{}, "not valid for boolean column"},
		{"bad int coercion", `{"filters":[{"column":"status","op":"=","value":"abc"}]}`, Options{}, `"abc" is not a valid value for integer column "status"`},
		{"bad float coercion", `{"filters":[{"column":"duration_ms","op":">","value":"NaN"}]}`, Options{}, `"NaN" is not a valid value for float column`},
		{"bool for int", `{"filters":[{"column":"status","op":"=","value":true}]}`, Options{}, "true is not a valid value"},
		{"bad bool coercion", `{"filters":[{"column":"error","op":"=","value":"maybe"}]}`, Options{}, "not a valid value for boolean column"},
		{"in needs array", `{"filters":[{"column":"status","op":"in","value":200}]}`, Options{}, "in needs an array"},
		{"in empty", `{"filters":[{"column":"status","op":"in","value":[]}]}`, Options{}, "at least one value"},
		{"in with null", `{"filters":[{"column":"status","op":"in","value":[1,null]}]}`, Options{}, "null is not allowed"},
		{"in bad element", `{"filters":[{"column":"status","op":"not-in","value":[1,"x"]}]}`, Options{}, `filters[0].value[1]: "x" is not a valid value`},
		{"eq with array", `{"filters":[{"column":"status","op":"=","value":[1]}]}`, Options{}, "single value"},
		{"object value", `{"filters":[{"column":"status","op":"=","value":{"a":1}}]}`, Options{}, "not an object"},
		{"gt needs value", `{"filters":[{"column":"status","op":">"}]}`, Options{}, "> needs a value"},
		{"bad combination", `{"filter_combination":"XOR"}`, Options{}, "must be AND or OR"},
		{"empty breakdown", `{"breakdowns":[""]}`, Options{}, "column name is empty"},
		{"long breakdown", `{"breakdowns":["` + long + `"]}`, Options{}, "longer than 255"},
		{"duplicate breakdown", `{"breakdowns":["endpoint","endpoint"]}`, Options{}, "duplicate breakdown"},
		{"unknown breakdown", `{"breakdowns":["nope"],"calculations":[{"op":"COUNT"}]}`, Options{}, `breakdowns[0]: unknown column "nope"`},
		{"having not in calcs", `{"calculations":[{"op":"COUNT"}],"havings":[{"calculate_op":"AVG","column":"duration_ms","op":">","value":1}]}`, Options{}, "having AVG(duration_ms) is not one of the query's calculations"},
		{"having heatmap", `{"calculations":[{"op":"HEATMAP","column":"duration_ms"}],"havings":[{"calculate_op":"HEATMAP","column":"duration_ms","op":">","value":1}]}`, Options{}, "cannot use HEATMAP"},
		{"having bad op", `{"calculations":[{"op":"COUNT"}],"havings":[{"calculate_op":"COUNT","op":"contains","value":1}]}`, Options{}, "must be one of"},
		{"having no value", `{"calculations":[{"op":"COUNT"}],"havings":[{"calculate_op":"COUNT","op":">"}]}`, Options{}, "needs a numeric value"},
		{"order not in breakdowns", `{"calculations":[{"op":"COUNT"}],"orders":[{"column":"endpoint"}]}`, Options{}, `order "endpoint" is neither a breakdown nor a calculation`},
		{"order calc not in calcs", `{"calculations":[{"op":"COUNT"}],"orders":[{"op":"MAX","column":"status"}]}`, Options{}, "order MAX(status) is not one of"},
		{"order direction", `{"calculations":[{"op":"COUNT"}],"orders":[{"op":"COUNT","order":"up"}]}`, Options{}, "ascending or descending"},
		{"order heatmap", `{"calculations":[{"op":"HEATMAP","column":"duration_ms"}],"orders":[{"op":"HEATMAP","column":"duration_ms"}]}`, Options{}, "cannot order by HEATMAP"},
		{"order on raw", `{"orders":[{"column":"status"}]}`, Options{}, "neither a breakdown nor a calculation"},
		{"too many calcs", `{"calculations":[` + many(`{"op":"COUNT"}`, 101) + `]}`, Options{}, "calculations: has 101 items; at most 100"},
		{"too many filters", `{"filters":[` + many(`{"column":"status","op":"exists"}`, 101) + `]}`, Options{}, "filters: has 101 items"},
		{"too many breakdowns", `{"breakdowns":[` + many(`"a"`, 101) + `]}`, Options{}, "breakdowns: has 101 items"},
		{"too many orders", `{"orders":[` + many(`{"op":"COUNT"}`, 101) + `]}`, Options{}, "orders: has 101 items"},
		{"too many havings", `{"havings":[` + many(`{"calculate_op":"COUNT","op":">","value":1}`, 101) + `]}`, Options{}, "havings: has 101 items"},
		{"limit too big", `{"limit":1001}`, Options{}, "limit: must be between 1 and 1000"},
		{"limit zero", `{"limit":0}`, Options{}, "limit: must be between"},
		{"run limit too big with series", `{"calculations":[{"op":"COUNT"}]}`, Options{Limit: 5000}, "limit: must be between 1 and 1000"},
		{"run limit too big without series", `{"calculations":[{"op":"COUNT"}]}`, Options{Limit: 10001, DisableSeries: true}, "limit: must be between"},
		{"all three times", `{"time_range":60,"start_time":1700000000,"end_time":1700000060}`, Options{}, "cannot all be set"},
		{"end before start", `{"start_time":1700000060,"end_time":1700000000}`, Options{}, "end_time: must be after start_time"},
		{"negative range", `{"time_range":-5}`, Options{}, "time_range: must be between 1"},
		{"huge range", `{"time_range":999999999999}`, Options{}, "time_range: must be between 1"},
		{"negative start", `{"start_time":-1}`, Options{}, "start_time: must be a Unix time"},
		{"range before 1970", `{"end_time":100,"time_range":7200}`, Options{}, "before 1970"},
		{"granularity too small", `{"time_range":7200,"granularity":1}`, Options{}, "granularity: 1 seconds is too fine for a 7200-second range: at least 8"},
		{"granularity too big", `{"time_range":60,"granularity":61}`, Options{}, "granularity: must be between 1 and the query's range"},
		{"granularity zero", `{"granularity":0}`, Options{}, "granularity: must be between"},
		{"compare offset not allowed", `{"compare_time_offset_seconds":100}`, Options{}, "compare_time_offset_seconds: must be one of"},
		{"compare offset shorter than range", `{"time_range":7200,"compare_time_offset_seconds":3600}`, Options{}, "at least the query's range"},
		{"formulas", `{"formulas":[{"name":"x","expression":"DIV($a,$b)"}]}`, Options{}, "formulas are not supported"},
		{"calculated fields", `{"calculated_fields":[{"name":"x","expression":"1"}]}`, Options{}, "calculated fields are not supported"},
		{"calc filter bad column", `{"calculations":[{"op":"COUNT","filters":[{"column":"nope","op":"exists"}]}]}`, Options{}, `calculations[0].filters[0].column: unknown column "nope"`},
		{"giant value", `{"filters":[{"column":"endpoint","op":"=","value":"` + strings.Repeat("a", MaxValueLen+1) + `"}]}`, Options{}, "longer than 65536"},
		{"giant number", `{"filters":[{"column":"duration_ms","op":">","value":1e400}]}`, Options{}, "is not a valid value for float column"},
		{"too large", `{"breakdowns":["` + strings.Repeat("a", MaxSpecBytes) + `"]}`, Options{}, "larger than"},
		{"concurrency needs duration", `{"calculations":[{"op":"CONCURRENCY"}]}`, Options{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Now = testNow
			opts.aggregateWhere = true
			var err error
			spec, err := ParseSpec([]byte(tt.spec))
			if err == nil {
				_, err = compile(spec, testColumns, []string{"api"}, opts)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			if !IsSpecError(err) {
				t.Errorf("error %v is not a *query.Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestConcurrencyNeedsDuration(t *testing.T) {
	cols := map[string]ColumnInfo{"status": testColumns["status"]}
	_, err := compile(mustParse(t, `{"calculations":[{"op":"CONCURRENCY"}]}`), cols, nil, Options{Now: testNow})
	if err == nil || !strings.Contains(err.Error(), "CONCURRENCY needs a numeric duration_ms column") {
		t.Fatalf("err = %v", err)
	}
}

func TestCalculationFiltersNeedSupport(t *testing.T) {
	spec := mustParse(t, `{"calculations":[{"op":"COUNT","name":"errors","filters":[{"column":"status","op":">=","value":"500"}]}]}`)
	e := NewEngine(&fakeExecutor{}, fakeCatalog{})
	if _, err := e.Run(t.Context(), 1, []string{"api"}, spec, Options{}); err == nil || !strings.Contains(err.Error(), "not supported by this store") {
		t.Fatalf("err = %v, want not supported", err)
	}
	exec := &whereExecutor{}
	e = NewEngine(exec, fakeCatalog{})
	if _, err := e.Run(t.Context(), 1, []string{"api"}, spec, Options{DisableSeries: true}); err != nil {
		t.Fatal(err)
	}
	w := exec.plans[0].Aggregates[0].Where
	if w == nil || len(w.Filters) != 1 || w.Filters[0].Value.Int() != 500 {
		t.Fatalf("aggregate filter %+v", w)
	}
}

// whereExecutor is a fakeExecutor that honours Aggregate.Where.
type whereExecutor struct{ fakeExecutor }

func (*whereExecutor) AggregateFilters() bool { return true }

func TestEngineUnknownDataset(t *testing.T) {
	e := NewEngine(&fakeExecutor{}, fakeCatalog{})
	_, err := e.Run(t.Context(), 1, []string{"nope"}, mustParse(t, `{}`), Options{})
	if !errors.Is(err, ErrUnknownDataset) {
		t.Fatalf("err = %v, want ErrUnknownDataset", err)
	}
}
