package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// benchQuery is one query measured through waggle and as hand-written SQL.
type benchQuery struct {
	Name  string
	Title string
	// Spec is the Honeycomb query spec, given the data's [start, end).
	Spec func(start, end time.Time) map[string]any
	// Defaults runs with Honeycomb's default result options (series,
	// total_by_aggregate, other_by_aggregate); otherwise the run asks for
	// exactly what the SQL computes.
	Defaults bool
	// Series asks for the time series (the query sets a granularity).
	Series bool
	// SQL is what a person would write on the physical tables; "" when there
	// is no like-for-like baseline.
	SQL func(t *rawTable) string
	// Check compares waggle's result rows with the SQL's; nil skips it.
	Check func(w []map[string]any, raw [][]any) error
	// Targets; zero means none.
	TargetMS    float64
	TargetRatio float64
}

// rangeSpec adds the data's time range to a spec.
func rangeSpec(start, end time.Time, s map[string]any) map[string]any {
	s["start_time"] = start.Unix()
	s["end_time"] = end.Unix()
	return s
}

type obj = map[string]any

const seriesGranularity = 120 // seconds: 60 buckets over two hours

// queries are the measured queries, in report order.
var queries = []benchQuery{
	{
		Name:  "count_p95_by_name",
		Title: "COUNT + P95(duration_ms) GROUP BY name",
		Spec: func(s, e time.Time) obj {
			return rangeSpec(s, e, obj{
				"calculations": []obj{{"op": "COUNT"}, {"op": "P95", "column": colDuration}},
				"breakdowns":   []string{colName},
			})
		},
		SQL: func(t *rawTable) string {
			return fmt.Sprintf("SELECT %s, count(*) AS c, quantile_disc(%s, 0.95) FROM %s GROUP BY 1 ORDER BY c DESC",
				t.col(colName), t.col(colDuration), t.from)
		},
		Check:       checkGroups(colName, "COUNT", "P95("+colDuration+")"),
		TargetMS:    300,
		TargetRatio: 1.2,
	},
	{
		Name:     "count_p95_by_name_defaults",
		Title:    "same, with Honeycomb's default result options (+ series, total_by_aggregate, other_by_aggregate)",
		Defaults: true,
		Series:   true,
		Spec: func(s, e time.Time) obj {
			return rangeSpec(s, e, obj{
				"calculations": []obj{{"op": "COUNT"}, {"op": "P95", "column": colDuration}},
				"breakdowns":   []string{colName},
			})
		},
	},
	{
		Name:  "count_p95_by_name_status500",
		Title: "COUNT + P95(duration_ms) GROUP BY name WHERE http.status_code >= 500",
		Spec: func(s, e time.Time) obj {
			return rangeSpec(s, e, obj{
				"calculations": []obj{{"op": "COUNT"}, {"op": "P95", "column": colDuration}},
				"breakdowns":   []string{colName},
				"filters":      []obj{{"column": colStatus, "op": ">=", "value": 500}},
			})
		},
		SQL: func(t *rawTable) string {
			return fmt.Sprintf("SELECT %s, count(*) AS c, quantile_disc(%s, 0.95) FROM %s WHERE %s >= 500 GROUP BY 1 ORDER BY c DESC",
				t.col(colName), t.col(colDuration), t.from, t.col(colStatus))
		},
		Check: checkGroups(colName, "COUNT", "P95("+colDuration+")"),
	},
	{
		Name:  "count_p95_by_name_svc_status500",
		Title: "same WHERE service.name = '" + filterService + "' AND http.status_code >= 500",
		Spec: func(s, e time.Time) obj {
			return rangeSpec(s, e, obj{
				"calculations": []obj{{"op": "COUNT"}, {"op": "P95", "column": colDuration}},
				"breakdowns":   []string{colName},
				"filters": []obj{
					{"column": colService, "op": "=", "value": filterService},
					{"column": colStatus, "op": ">=", "value": 500},
				},
			})
		},
		SQL: func(t *rawTable) string {
			return fmt.Sprintf("SELECT %s, count(*) AS c, quantile_disc(%s, 0.95) FROM %s WHERE %s = '%s' AND %s >= 500 GROUP BY 1 ORDER BY c DESC",
				t.col(colName), t.col(colDuration), t.from, t.col(colService), filterService, t.col(colStatus))
		},
		Check: checkGroups(colName, "COUNT", "P95("+colDuration+")"),
	},
	{
		Name:  "count_distinct_users",
		Title: "COUNT_DISTINCT(user.id)",
		Spec: func(s, e time.Time) obj {
			return rangeSpec(s, e, obj{"calculations": []obj{{"op": "COUNT_DISTINCT", "column": colUser}}})
		},
		SQL: func(t *rawTable) string {
			return fmt.Sprintf("SELECT count(DISTINCT %s) FROM %s", t.col(colUser), t.from)
		},
		Check: checkScalar("COUNT_DISTINCT(" + colUser + ")"),
	},
	{
		Name:   "heatmap_duration",
		Title:  "HEATMAP(duration_ms), 60 time × 50 value buckets",
		Series: true,
		Spec: func(s, e time.Time) obj {
			return rangeSpec(s, e, obj{
				"calculations": []obj{{"op": "HEATMAP", "column": colDuration}},
				"granularity":  seriesGranularity,
			})
		},
		SQL: func(t *rawTable) string {
			d := t.col(colDuration)
			return fmt.Sprintf("WITH b AS (SELECT min(%[1]s) AS lo, max(%[1]s) AS hi FROM %[2]s) "+
				"SELECT ts // %[3]d AS tb, CAST(least(49, greatest(0, floor((%[1]s - lo) / ((hi - lo) / 50)))) AS BIGINT) AS hb, count(*) "+
				"FROM %[2]s, b WHERE %[1]s IS NOT NULL GROUP BY 1, 2",
				d, t.from, int64(seriesGranularity)*1e9)
		},
	},
	{
		Name:   "timeseries_top10",
		Title:  "60-bucket series of COUNT + P99(duration_ms) for the top 10 names",
		Series: true,
		Spec: func(s, e time.Time) obj {
			return rangeSpec(s, e, obj{
				"calculations": []obj{{"op": "COUNT"}, {"op": "P99", "column": colDuration}},
				"breakdowns":   []string{colName},
				"orders":       []obj{{"op": "COUNT", "order": "descending"}},
				"limit":        10,
				"granularity":  seriesGranularity,
			})
		},
		SQL: func(t *rawTable) string {
			n, d := t.col(colName), t.col(colDuration)
			return fmt.Sprintf("WITH top AS (SELECT %[1]s AS k FROM %[3]s GROUP BY 1 ORDER BY count(*) DESC LIMIT 10) "+
				"SELECT %[1]s, ts // %[4]d AS tb, count(*), quantile_disc(%[2]s, 0.99) FROM %[3]s "+
				"WHERE %[1]s IN (SELECT k FROM top) GROUP BY 1, 2",
				n, d, t.from, int64(seriesGranularity)*1e9)
		},
	},
	{
		Name:  "sparse_attr",
		Title: "COUNT WHERE " + colSparse + " = '" + sparseValue + "' (sparse attribute, 10% filled)",
		Spec: func(s, e time.Time) obj {
			return rangeSpec(s, e, obj{
				"calculations": []obj{{"op": "COUNT"}},
				"filters":      []obj{{"column": colSparse, "op": "=", "value": sparseValue}},
			})
		},
		SQL: func(t *rawTable) string {
			return fmt.Sprintf("SELECT count(*) FROM %s WHERE %s = '%s'", t.from, t.col(colSparse), sparseValue)
		},
		Check: checkScalar("COUNT"),
	},
}

// traceQuery names the trace lookup in the results.
const traceQuery = "trace_by_id"

// checkGroups compares breakdown groups: every SQL row (key, count, value)
// must be a waggle row with the same numbers.
func checkGroups(key, count, value string) func([]map[string]any, [][]any) error {
	return func(w []map[string]any, raw [][]any) error {
		if len(w) != len(raw) {
			return fmt.Errorf("%d groups, SQL has %d", len(w), len(raw))
		}
		byKey := map[string]map[string]any{}
		for _, r := range w {
			byKey[fmt.Sprint(r[key])] = r
		}
		for _, r := range raw {
			wr, ok := byKey[fmt.Sprint(r[0])]
			if !ok {
				return fmt.Errorf("group %v missing", r[0])
			}
			if !near(num(wr[count]), num(r[1])) || !near(num(wr[value]), num(r[2])) {
				return fmt.Errorf("group %v: %v, %v; SQL says %v, %v", r[0], wr[count], wr[value], r[1], r[2])
			}
		}
		return nil
	}
}

// checkScalar compares a single-row result.
func checkScalar(label string) func([]map[string]any, [][]any) error {
	return func(w []map[string]any, raw [][]any) error {
		if len(w) != 1 || len(raw) != 1 {
			return fmt.Errorf("%d rows, SQL has %d", len(w), len(raw))
		}
		if !near(num(w[0][label]), num(raw[0][0])) {
			return fmt.Errorf("%v; SQL says %v", w[0][label], raw[0][0])
		}
		return nil
	}
}

func num(x any) float64 {
	switch v := x.(type) {
	case float64:
		return v
	case float32:
		return float64(v)
	case int64:
		return float64(v)
	case int32:
		return float64(v)
	case int:
		return float64(v)
	case uint64:
		return float64(v)
	case json.Number:
		f, _ := v.Float64()
		return f
	case string:
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return math.NaN()
}

func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// httpQuery is a query saved through the query API.
type httpQuery struct {
	n       *node
	dataset string
	id      string
}

type httpOutput struct {
	Complete bool `json:"complete"`
	Data     struct {
		Results []struct {
			Data map[string]any `json:"data"`
		} `json:"results"`
		Series []json.RawMessage `json:"series"`
	} `json:"data"`
}

func (o *httpOutput) rows() []map[string]any {
	rows := make([]map[string]any, len(o.Data.Results))
	for i, r := range o.Data.Results {
		rows[i] = r.Data
	}
	return rows
}

func newHTTPQuery(ctx context.Context, n *node, dataset string, spec map[string]any) (*httpQuery, error) {
	var q struct {
		ID string `json:"id"`
	}
	code, raw, err := n.do(ctx, "POST", "/1/queries/"+dataset, spec, &q)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("create query: %d %s", code, raw)
	}
	return &httpQuery{n: n, dataset: dataset, id: q.ID}, nil
}

// run runs the query (POST /1/query_results, which answers when the result
// is complete) and fetches its result (GET), as a client does.
func (q *httpQuery) run(ctx context.Context, disableSeries, disableTotals bool) (*httpOutput, error) {
	var created struct {
		ID string `json:"id"`
	}
	req := obj{"query_id": q.id, "disable_series": disableSeries,
		"disable_total_by_aggregate": disableTotals, "disable_other_by_aggregate": disableTotals}
	code, raw, err := q.n.do(ctx, "POST", "/1/query_results/"+q.dataset, req, &created)
	if err != nil {
		return nil, err
	}
	if code != 201 {
		return nil, fmt.Errorf("run query: %d %s", code, raw)
	}
	var out httpOutput
	code, raw, err = q.n.do(ctx, "GET", "/1/query_results/"+q.dataset+"/"+created.ID, nil, &out)
	if err != nil {
		return nil, err
	}
	if code != 200 || !out.Complete {
		return nil, fmt.Errorf("get query result: %d %.300s", code, raw)
	}
	return &out, nil
}

// rawTable is the physical table of the query dataset and its columns, as
// the catalog database describes them.
type rawTable struct {
	from string            // e.g. "p20261102"."e3"
	cols map[string]string // logical name → physical column
	all  string            // every physical column, for SELECT of a trace
}

func (t *rawTable) col(name string) string {
	p, ok := t.cols[name]
	if !ok {
		panic(fmt.Sprintf("no physical column for %q", name))
	}
	return p
}

// rawDB is a DuckDB connection with the data directory's databases attached
// read-only: the baseline a person gets by opening the files themselves.
type rawDB struct {
	db   *sql.DB
	conn *sql.Conn
	t    *rawTable
}

// scanAll reads every row of a query.
func scanAll(rows *sql.Rows) ([][]any, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
