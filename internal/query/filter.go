package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
)

// scalarValue decodes a filter value: nil, string, json.Number, bool or, for
// arrays, []any. Objects are rejected.
func decodeValue(f string, raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errorf(f, "is not a valid JSON value")
	}
	if _, ok := v.(map[string]any); ok {
		return nil, errorf(f, "must be a string, number, boolean, null or array, not an object")
	}
	return v, nil
}

// checkScalar checks one scalar filter value's size and kind.
func checkScalar(f string, v any) error {
	switch x := v.(type) {
	case string:
		if len(x) > MaxValueLen {
			return errorf(f, "string is longer than %d bytes", MaxValueLen)
		}
	case json.Number, bool, nil:
	default:
		return errorf(f, "must be a string, number or boolean")
	}
	return nil
}

// checkFilter validates a filter's structure (not its column) and returns its
// operator.
func checkFilter(f string, sf *SpecFilter) (FilterOp, error) {
	if err := checkName(f+".column", "column", sf.Column); err != nil {
		return "", err
	}
	op, ok := ParseFilterOp(sf.Op)
	if !ok {
		return "", errorf(f+".op", "unknown filter op %q", truncate(sf.Op))
	}
	if op.unary() {
		return op, nil
	}
	v, err := decodeValue(f+".value", sf.Value)
	if err != nil {
		return "", err
	}
	if op.list() {
		list, ok := v.([]any)
		if !ok {
			return "", errorf(f+".value", "%s needs an array of values", op)
		}
		if len(list) == 0 {
			return "", errorf(f+".value", "%s needs at least one value", op)
		}
		if len(list) > MaxInValues {
			return "", errorf(f+".value", "%s has %d values; at most %d are allowed", op, len(list), MaxInValues)
		}
		for i, x := range list {
			if x == nil {
				return "", errorf(fmt.Sprintf("%s.value[%d]", f, i), "null is not allowed in %s", op)
			}
			if err := checkScalar(fmt.Sprintf("%s.value[%d]", f, i), x); err != nil {
				return "", err
			}
		}
		return op, nil
	}
	if _, ok := v.([]any); ok {
		return "", errorf(f+".value", "%s needs a single value, not an array", op)
	}
	if err := checkScalar(f+".value", v); err != nil {
		return "", err
	}
	if v == nil && op != OpEq && op != OpNe {
		return "", errorf(f+".value", "%s needs a value", op)
	}
	return op, nil
}

// lowerFilter validates a filter against its column's type and returns it
// with values coerced to that type.
func lowerFilter(f string, sf *SpecFilter, cols map[string]ColumnInfo) (Filter, error) {
	op, err := checkFilter(f, sf)
	if err != nil {
		return Filter{}, err
	}
	col, ok := cols[sf.Column]
	if !ok {
		return Filter{}, errorf(f+".column", "unknown column %q", truncate(sf.Column))
	}
	typ := col.Type
	if typ == event.TypeNull {
		typ = event.TypeString
	}
	if op.stringOp() && typ != event.TypeString {
		return Filter{}, errorf(f+".op", "filter op %s is not valid for %s column %q", op, typ, truncate(sf.Column))
	}
	if op.ordering() && typ == event.TypeBool {
		return Filter{}, errorf(f+".op", "filter op %s is not valid for boolean column %q", op, truncate(sf.Column))
	}
	out := Filter{Column: sf.Column, Op: op}
	if op.unary() {
		return out, nil
	}
	v, err := decodeValue(f+".value", sf.Value)
	if err != nil {
		return Filter{}, err
	}
	if op.list() {
		list, _ := v.([]any)
		out.Values = make([]event.Value, 0, len(list))
		for i, x := range list {
			cv, err := coerce(fmt.Sprintf("%s.value[%d]", f, i), x, typ, sf.Column)
			if err != nil {
				return Filter{}, err
			}
			out.Values = append(out.Values, cv)
		}
		return out, nil
	}
	if v == nil {
		// "= null" asks for events without the column, "!= null" for
		// events with it.
		if op == OpEq {
			out.Op = OpNotExists
		} else {
			out.Op = OpExists
		}
		return out, nil
	}
	if op.stringOp() {
		// String operators compare text: a number in the spec means its
		// digits.
		out.Value = event.String(scalarText(v))
		return out, nil
	}
	out.Value, err = coerce(f+".value", v, typ, sf.Column)
	if err != nil {
		return Filter{}, err
	}
	return out, nil
}

// scalarText renders a decoded scalar as text.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// coerce converts a decoded scalar to a value for a column of type typ:
// "500" for an integer column becomes 500, 500 for a string column becomes
// "500", "true" for a boolean column becomes true. A value that has no
// meaning for the column is an error. Non-integral numbers stay floats for
// integer columns so that "duration > 1.5" keeps its meaning.
func coerce(f string, v any, typ event.Type, column string) (event.Value, error) {
	bad := func() (event.Value, error) {
		return event.Value{}, errorf(f, "%s is not a valid value for %s column %q", describe(v), typ, truncate(column))
	}
	switch typ {
	case event.TypeInt, event.TypeFloat:
		var text string
		switch x := v.(type) {
		case json.Number:
			text = x.String()
		case string:
			text = strings.TrimSpace(x)
		default:
			return bad()
		}
		if typ == event.TypeInt {
			if i, err := strconv.ParseInt(text, 10, 64); err == nil {
				return event.Int(i), nil
			}
		}
		n, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return bad()
		}
		if typ == event.TypeInt && n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return event.Int(int64(n)), nil
		}
		return event.Float(n), nil
	case event.TypeBool:
		switch x := v.(type) {
		case bool:
			return event.Bool(x), nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return event.Bool(b), nil
			}
		case json.Number:
			switch x.String() {
			case "0":
				return event.Bool(false), nil
			case "1":
				return event.Bool(true), nil
			}
		}
		return bad()
	}
	return event.String(scalarText(v)), nil
}

// describe names a decoded scalar for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(truncate(x))
	case json.Number:
		return truncate(x.String())
	case bool:
		return strconv.FormatBool(x)
	}
	return "null"
}
