package querycmd

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/query"
)

// calcPattern matches "OP" or "OP(column)".
var calcPattern = regexp.MustCompile(`^\s*([A-Za-z0-9_]+)\s*(?:\((.*)\))?\s*$`)

// parseCalc parses "COUNT" or "P95(duration_ms)".
func parseCalc(s string) (query.Calculation, error) {
	op, col, ok := parseCalcTerm(s)
	if !ok {
		return query.Calculation{}, fmt.Errorf("--calc %q: want OP or OP(column), such as COUNT or P95(duration_ms)", s)
	}
	return query.Calculation{Op: string(op), Column: col}, nil
}

// parseCalcTerm parses "OP" or "OP(column)" with a known op.
func parseCalcTerm(s string) (query.CalcOp, string, bool) {
	m := calcPattern.FindStringSubmatch(s)
	if m == nil {
		return "", "", false
	}
	op, ok := query.ParseCalcOp(m[1])
	if !ok {
		return "", "", false
	}
	return op, strings.TrimSpace(m[2]), true
}

// symbolPattern splits "col>=value" and "col >= value".
var symbolPattern = regexp.MustCompile(`^(.+?)\s*(>=|<=|!=|=|>|<)\s*(.*)$`)

// parseWhere parses a filter "column op value": every Honeycomb operator,
// words ("exists", "starts-with /api", "in a,b,c") separated by spaces,
// symbols (=, !=, >, >=, <, <=) with or without them.
func parseWhere(s string) (query.SpecFilter, error) {
	bad := func(why string) (query.SpecFilter, error) {
		return query.SpecFilter{}, fmt.Errorf("--where %q: %s", s, why)
	}
	var col, opText, rest string
	fields := strings.Fields(s)
	if len(fields) >= 2 {
		if _, ok := query.ParseFilterOp(fields[1]); ok {
			col, opText = fields[0], fields[1]
			// What follows the column starts with the operator.
			after := strings.TrimSpace(strings.TrimSpace(s)[len(col):])
			rest = strings.TrimSpace(after[len(opText):])
		}
	}
	if opText == "" {
		m := symbolPattern.FindStringSubmatch(strings.TrimSpace(s))
		if m == nil {
			return bad("want \"column op value\", such as \"status >= 500\", \"user exists\" or \"endpoint in /a,/b\"")
		}
		col, opText, rest = strings.TrimSpace(m[1]), m[2], strings.TrimSpace(m[3])
	}
	op, _ := query.ParseFilterOp(opText)
	f := query.SpecFilter{Column: col, Op: string(op)}
	switch op {
	case query.OpExists, query.OpNotExists:
		if rest != "" {
			return bad(string(op) + " takes no value")
		}
		return f, nil
	case query.OpIn, query.OpNotIn:
		if rest == "" {
			return bad(string(op) + " needs a comma-separated list of values")
		}
		var vals []any
		for _, part := range strings.Split(rest, ",") {
			vals = append(vals, literal(strings.TrimSpace(part)))
		}
		f.Value, _ = json.Marshal(vals)
		return f, nil
	}
	if rest == "" {
		return bad(string(op) + " needs a value")
	}
	f.Value, _ = json.Marshal(literal(rest))
	return f, nil
}

// literal types a command-line value: quoted text is a string, null, true
// and false are themselves, numbers are numbers, anything else a string.
// The server coerces values to the column's type, so "500" and 500 both
// work for an integer column.
func literal(s string) any {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	switch s {
	case "null":
		return nil
	case "true":
		return true
	case "false":
		return false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "nN") {
		return f
	}
	return s
}

// parseOrder parses "TERM [asc|desc]" or "-TERM" (descending), where TERM is
// a calculation (COUNT, P95(duration_ms)) or a breakdown column.
func parseOrder(s string) (query.SpecOrder, error) {
	t := strings.TrimSpace(s)
	var o query.SpecOrder
	if strings.HasPrefix(t, "-") {
		o.Order, t = "descending", strings.TrimSpace(t[1:])
	} else if i := strings.LastIndexAny(t, " \t:"); i > 0 {
		switch strings.ToLower(strings.TrimSpace(t[i+1:])) {
		case "desc", "descending":
			o.Order, t = "descending", strings.TrimSpace(t[:i])
		case "asc", "ascending":
			t = strings.TrimSpace(t[:i])
		}
	}
	if t == "" {
		return o, fmt.Errorf("--order %q: want a calculation or a breakdown, then asc or desc", s)
	}
	if op, col, ok := parseCalcTerm(t); ok {
		o.Op, o.Column = string(op), col
	} else {
		o.Column = t
	}
	return o, nil
}

// havingPattern splits "P95(duration_ms) > 100".
var havingPattern = regexp.MustCompile(`^(.+?)\s*(>=|<=|!=|=|>|<)\s*(\S+)$`)

// parseHaving parses "CALC op number".
func parseHaving(s string) (query.SpecHaving, error) {
	m := havingPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return query.SpecHaving{}, fmt.Errorf("--having %q: want \"CALC op number\", such as \"COUNT > 10\"", s)
	}
	op, col, ok := parseCalcTerm(m[1])
	if !ok {
		return query.SpecHaving{}, fmt.Errorf("--having %q: %q is not a calculation such as COUNT or P95(duration_ms)", s, m[1])
	}
	v, err := strconv.ParseFloat(m[3], 64)
	if err != nil {
		return query.SpecHaving{}, fmt.Errorf("--having %q: %q is not a number", s, m[3])
	}
	return query.SpecHaving{CalculateOp: string(op), Column: col, Op: m[2], Value: &v}, nil
}

// parseSeconds parses a duration as whole seconds: "3600", "90s", "2h",
// "7d".
func parseSeconds(flagName, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseInt(days, 10, 64); err == nil && n >= 0 && n < 1<<32 {
			return n * 86400, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d%time.Second != 0 {
		return 0, fmt.Errorf("--%s %q: want whole seconds, such as 3600, 90s, 2h or 7d", flagName, s)
	}
	return int64(d / time.Second), nil
}

// parseTime parses a Unix time in seconds or an RFC 3339 time.
func parseTime(flagName, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("--%s %q: want Unix seconds or an RFC 3339 time such as 2025-03-01T12:00:00Z", flagName, s)
	}
	return t.Unix(), nil
}
