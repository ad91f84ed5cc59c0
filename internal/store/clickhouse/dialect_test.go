package clickhouse

import "testing"

func TestAggregateIf(t *testing.T) {
	for _, c := range []struct{ agg, want string }{
		{"count(*)", "countIf(ifNull(c, 0))"},
		{"sum(x)", "sum(if(ifNull(c, 0), x, NULL))"},
		{"sum(COALESCE(a, toFloat64(b)) * sr)", "sum(if(ifNull(c, 0), COALESCE(a, toFloat64(b)) * sr, NULL))"},
		{"quantileExactWeighted(0.5)(f(x, y), toUInt64(sr))", "quantileExactWeighted(0.5)(if(ifNull(c, 0), f(x, y), NULL), toUInt64(sr))"},
	} {
		if got := (dialect{}).AggregateIf(c.agg, "c"); got != c.want {
			t.Errorf("AggregateIf(%s) = %s, want %s", c.agg, got, c.want)
		}
	}
}
