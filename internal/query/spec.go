package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Limits on a query specification. They bound the work any spec can ask for,
// so that hostile input yields a clean error rather than exhaustion.
const (
	// MaxSpecBytes is the largest encoded spec accepted.
	MaxSpecBytes = 1 << 20
	// MaxItems is Honeycomb's limit on each array of a spec (calculations,
	// filters, breakdowns, orders, havings).
	MaxItems = 100
	// MaxInValues is the most values one in/not-in filter may list.
	MaxInValues = 1000
	// MaxNameLen is the longest column or calculation name.
	MaxNameLen = 255
	// MaxValueLen is the longest string filter value (Honeycomb's string
	// field limit).
	MaxValueLen = 64 * 1024
	// MaxLimit is the largest limit of a query spec.
	MaxLimit = 1000
	// MaxLimitNoSeries is the largest limit when the series is disabled.
	MaxLimitNoSeries = 10000
	// DefaultLimit is the limit of an aggregate query that sets none.
	DefaultLimit = 1000
	// DefaultRawLimit is the limit of a raw-event query that sets none.
	DefaultRawLimit = 100
)

// Spec is a Honeycomb query specification, as JSON encodes it. All fields are
// optional. The zero Spec asks for the raw events of the last two hours.
type Spec struct {
	Calculations []Calculation `json:"calculations,omitempty"`
	// CalculatedFields and Formulas are part of Honeycomb's spec but not
	// supported by waggle yet: a spec that uses them is rejected.
	CalculatedFields  []json.RawMessage `json:"calculated_fields,omitempty"`
	Formulas          []json.RawMessage `json:"formulas,omitempty"`
	Filters           []SpecFilter      `json:"filters,omitempty"`
	FilterCombination string            `json:"filter_combination,omitempty"`
	Breakdowns        []string          `json:"breakdowns,omitempty"`
	Orders            []SpecOrder       `json:"orders,omitempty"`
	Havings           []SpecHaving      `json:"havings,omitempty"`
	Limit             *int              `json:"limit,omitempty"`
	// TimeRange is in seconds; StartTime and EndTime are Unix seconds.
	TimeRange *int64 `json:"time_range,omitempty"`
	StartTime *int64 `json:"start_time,omitempty"`
	EndTime   *int64 `json:"end_time,omitempty"`
	// Granularity is the series bucket width in seconds.
	Granularity *int64 `json:"granularity,omitempty"`
	// CompareTimeOffsetSeconds is accepted and validated; waggle, like
	// Honeycomb's query data API, returns no comparison results.
	CompareTimeOffsetSeconds *int64 `json:"compare_time_offset_seconds,omitempty"`
	// UsageMode turns off sample-rate correction.
	UsageMode bool `json:"usage_mode,omitempty"`
}

// Calculation is one aggregate of a spec.
type Calculation struct {
	Op     string `json:"op"`
	Column string `json:"column,omitempty"`
	// Name, when set, replaces the "OP(column)" label in results and lets
	// orders and havings refer to the calculation.
	Name string `json:"name,omitempty"`
	// Filters restrict the events this calculation alone sees.
	Filters           []SpecFilter `json:"filters,omitempty"`
	FilterCombination string       `json:"filter_combination,omitempty"`
}

// SpecFilter is one filter of a spec. Value is a scalar for comparisons and
// string operators, an array for in/not-in, and absent for exists.
type SpecFilter struct {
	Column string          `json:"column"`
	Op     string          `json:"op"`
	Value  json.RawMessage `json:"value,omitempty"`
}

// SpecOrder sorts result groups by a calculation (Op, with Column for ops
// that take one) or by a breakdown or calculation name (Column alone).
type SpecOrder struct {
	Op     string `json:"op,omitempty"`
	Column string `json:"column,omitempty"`
	// Order is "ascending" (the default) or "descending".
	Order string `json:"order,omitempty"`
}

// SpecHaving keeps groups whose calculation compares to Value with Op.
type SpecHaving struct {
	CalculateOp string   `json:"calculate_op"`
	Column      string   `json:"column,omitempty"`
	Op          string   `json:"op"`
	Value       *float64 `json:"value"`
}

// specWire is Spec plus the fields a client may echo back from a query
// object; they are ignored.
type specWire struct {
	Spec
	ID json.RawMessage `json:"id,omitempty"`
}

// ParseSpec decodes and structurally validates a JSON query spec. Unknown
// fields are rejected. Column existence and types are checked later, against
// a Catalog, when the spec is lowered.
func ParseSpec(data []byte) (*Spec, error) {
	if len(data) > MaxSpecBytes {
		return nil, errorf("", "query spec is larger than %d bytes", MaxSpecBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errorf("", "query spec is empty")
	}
	if trimmed[0] != '{' {
		return nil, errorf("", "query spec must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	var w specWire
	if err := dec.Decode(&w); err != nil {
		return nil, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errorf("", "query spec has data after the JSON object")
	}
	s := w.Spec
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeError turns an encoding/json error into a spec *Error.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := strings.TrimPrefix(strings.TrimPrefix(te.Field, "specWire."), "Spec.")
		if field == "" {
			field = "query spec"
		}
		return errorf(field, "must be %s, not a JSON %s", jsonKind(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return errorf("", "query spec is not valid JSON: %v (at byte %d)", se, se.Offset)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return errorf("", "query spec is not valid: %s", msg)
}

// jsonKind names a Go kind in JSON terms.
func jsonKind(kind string) string {
	switch kind {
	case "int", "int64":
		return "an integer"
	case "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "a " + kind
}

// Validate checks everything about a spec that does not depend on the
// datasets' columns: operators, references between orders, havings and
// calculations, item counts and sizes, limit, time range and granularity.
func (s *Spec) Validate() error {
	if len(s.CalculatedFields) > 0 {
		return errorf("calculated_fields", "calculated fields are not supported")
	}
	if len(s.Formulas) > 0 {
		return errorf("formulas", "formulas are not supported")
	}
	if err := checkCount("calculations", len(s.Calculations)); err != nil {
		return err
	}
	if err := checkCount("filters", len(s.Filters)); err != nil {
		return err
	}
	if err := checkCount("breakdowns", len(s.Breakdowns)); err != nil {
		return err
	}
	if err := checkCount("orders", len(s.Orders)); err != nil {
		return err
	}
	if err := checkCount("havings", len(s.Havings)); err != nil {
		return err
	}
	if _, err := parseCombination("filter_combination", s.FilterCombination); err != nil {
		return err
	}
	for i := range s.Filters {
		if _, err := checkFilter(fieldf("filters", i), &s.Filters[i]); err != nil {
			return err
		}
	}
	breakdowns := make(map[string]bool, len(s.Breakdowns))
	for i, b := range s.Breakdowns {
		f := fieldf("breakdowns", i)
		if err := checkName(f, "column", b); err != nil {
			return err
		}
		if breakdowns[b] {
			return errorf(f, "duplicate breakdown %q", b)
		}
		breakdowns[b] = true
	}
	calcs, err := s.resolveCalculations()
	if err != nil {
		return err
	}
	for _, c := range calcs {
		if breakdowns[c.label] {
			return errorf(c.field, "calculation %q has the same name as a breakdown", c.label)
		}
	}
	for i := range s.Havings {
		if _, err := resolveHaving(fieldf("havings", i), &s.Havings[i], calcs); err != nil {
			return err
		}
	}
	for i := range s.Orders {
		if _, err := resolveOrder(fieldf("orders", i), &s.Orders[i], calcs, breakdowns); err != nil {
			return err
		}
	}
	if s.Limit != nil && (*s.Limit < 1 || *s.Limit > MaxLimit) {
		return errorf("limit", "must be between 1 and %d (up to %d when the series is disabled), not %d",
			MaxLimit, MaxLimitNoSeries, *s.Limit)
	}
	if _, err := s.resolveTime(time.Now()); err != nil {
		return err
	}
	return nil
}

// checkCount enforces MaxItems on one array.
func checkCount(field string, n int) error {
	if n > MaxItems {
		return errorf(field, "has %d items; at most %d are allowed", n, MaxItems)
	}
	return nil
}

// checkName checks a column or calculation name: non-empty and not too long.
func checkName(field, what, name string) error {
	if strings.TrimSpace(name) == "" {
		return errorf(field, "%s name is empty", what)
	}
	if len(name) > MaxNameLen {
		return errorf(field, "%s name is longer than %d bytes", what, MaxNameLen)
	}
	return nil
}

// parseCombination parses a filter_combination; true means OR.
func parseCombination(field, s string) (bool, error) {
	switch strings.ToUpper(s) {
	case "", "AND":
		return false, nil
	case "OR":
		return true, nil
	}
	return false, errorf(field, "must be AND or OR, not %q", truncate(s))
}

// truncate shortens a client string for an error message.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// calc is a validated calculation.
type calc struct {
	field  string // JSON path, for errors
	op     CalcOp
	column string
	name   string
	label  string
	or     bool
	// filters are the calculation's own filters, not yet coerced.
	filters []SpecFilter
}

// resolveCalculations validates every calculation and computes its label.
func (s *Spec) resolveCalculations() ([]calc, error) {
	calcs := s.calculations()
	out := make([]calc, 0, len(calcs))
	labels := make(map[string]bool, len(calcs))
	for i := range calcs {
		c := &calcs[i]
		f := fieldf("calculations", i)
		op, ok := ParseCalcOp(c.Op)
		if !ok {
			return nil, errorf(f+".op", "unknown calculation op %q", truncate(c.Op))
		}
		if op.TakesColumn() {
			if err := checkName(f+".column", op.String()+" column", c.Column); err != nil {
				return nil, err
			}
		} else if c.Column != "" {
			return nil, errorf(f+".column", "%s takes no column", op)
		}
		if c.Name != "" {
			if err := checkName(f+".name", "calculation", c.Name); err != nil {
				return nil, err
			}
		}
		or, err := parseCombination(f+".filter_combination", c.FilterCombination)
		if err != nil {
			return nil, err
		}
		if err := checkCount(f+".filters", len(c.Filters)); err != nil {
			return nil, err
		}
		for j := range c.Filters {
			if _, err := checkFilter(fmt.Sprintf("%s.filters[%d]", f, j), &c.Filters[j]); err != nil {
				return nil, err
			}
		}
		label := Label(op, c.Column, c.Name)
		if labels[label] {
			return nil, errorf(f, "duplicate calculation %q", truncate(label))
		}
		labels[label] = true
		out = append(out, calc{field: f, op: op, column: c.Column, name: c.Name, label: label, or: or, filters: c.Filters})
	}
	return out, nil
}

// String returns the operator's name.
func (op CalcOp) String() string { return string(op) }

// findCalc returns the index of the calculation that op and column name:
// either a calculation named column (whose op is op, when op is set), or one
// with this op and column.
func findCalc(calcs []calc, op CalcOp, column string) int {
	if column != "" {
		for i, c := range calcs {
			if c.name == column && (op == "" || c.op == op) {
				return i
			}
		}
	}
	if op == "" {
		return -1
	}
	for i, c := range calcs {
		if c.op == op && c.column == column {
			return i
		}
	}
	return -1
}

// resolvedHaving is a validated having.
type resolvedHaving struct {
	calc  int
	op    FilterOp
	value float64
}

// resolveHaving validates a having against the calculations.
func resolveHaving(f string, h *SpecHaving, calcs []calc) (resolvedHaving, error) {
	op, ok := ParseCalcOp(h.CalculateOp)
	if !ok {
		return resolvedHaving{}, errorf(f+".calculate_op", "unknown calculation op %q", truncate(h.CalculateOp))
	}
	if op == CalcHeatmap {
		return resolvedHaving{}, errorf(f+".calculate_op", "a having cannot use HEATMAP")
	}
	cmp, ok := ParseFilterOp(h.Op)
	if !ok || !cmp.comparison() {
		return resolvedHaving{}, errorf(f+".op", "must be one of = != > >= < <=, not %q", truncate(h.Op))
	}
	if h.Value == nil {
		return resolvedHaving{}, errorf(f+".value", "a having needs a numeric value")
	}
	i := findCalc(calcs, op, h.Column)
	if i < 0 {
		return resolvedHaving{}, errorf(f, "having %s is not one of the query's calculations", truncate(Label(op, h.Column, "")))
	}
	return resolvedHaving{calc: i, op: cmp, value: *h.Value}, nil
}

// resolvedOrder is a validated order: by calculation calc (≥ 0) or by
// breakdown column (calc < 0).
type resolvedOrder struct {
	calc       int
	column     string
	descending bool
}

// resolveOrder validates an order against the calculations and breakdowns.
func resolveOrder(f string, o *SpecOrder, calcs []calc, breakdowns map[string]bool) (resolvedOrder, error) {
	var r resolvedOrder
	switch strings.ToLower(o.Order) {
	case "", "ascending", "asc":
	case "descending", "desc":
		r.descending = true
	default:
		return r, errorf(f+".order", "must be ascending or descending, not %q", truncate(o.Order))
	}
	if o.Op == "" {
		if o.Column == "" {
			return r, errorf(f, "an order needs an op or a column")
		}
		if i := findCalc(calcs, "", o.Column); i >= 0 {
			r.calc = i
		} else if breakdowns[o.Column] {
			r.calc, r.column = -1, o.Column
		} else {
			return r, errorf(f, "order %q is neither a breakdown nor a calculation of the query", truncate(o.Column))
		}
	} else {
		op, ok := ParseCalcOp(o.Op)
		if !ok {
			return r, errorf(f+".op", "unknown calculation op %q", truncate(o.Op))
		}
		r.calc = findCalc(calcs, op, o.Column)
		if r.calc < 0 {
			return r, errorf(f, "order %s is not one of the query's calculations", truncate(Label(op, o.Column, "")))
		}
	}
	if r.calc >= 0 && calcs[r.calc].op == CalcHeatmap {
		return r, errorf(f, "cannot order by HEATMAP")
	}
	return r, nil
}

// Labels returns the result keys of the spec's calculations, in order. It
// assumes a valid spec.
func (s *Spec) Labels() []string {
	calcs := s.calculations()
	out := make([]string, 0, len(calcs))
	for _, c := range calcs {
		op, _ := ParseCalcOp(c.Op)
		out = append(out, Label(op, c.Column, c.Name))
	}
	return out
}

// Raw reports whether the spec asks for raw events: no calculations and no
// breakdowns. A spec with breakdowns but no calculations counts events per
// group (an implicit COUNT), as Honeycomb does.
func (s *Spec) Raw() bool { return len(s.Calculations) == 0 && len(s.Breakdowns) == 0 }

// calculations returns the spec's calculations, with the implicit COUNT of a
// spec that has breakdowns but no calculations.
func (s *Spec) calculations() []Calculation {
	if len(s.Calculations) == 0 && len(s.Breakdowns) > 0 {
		return []Calculation{{Op: string(CalcCount)}}
	}
	return s.Calculations
}
