package event

import (
	"math"
	"strconv"
)

// Type is the type of a value and of a column.
type Type uint8

// The value types. The zero Type is TypeNull (an absent value).
const (
	TypeNull Type = iota
	TypeString
	TypeInt
	TypeFloat
	TypeBool
)

// String returns the Honeycomb name of the type ("string", "integer", "float",
// "boolean").
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt:
		return "integer"
	case TypeFloat:
		return "float"
	case TypeBool:
		return "boolean"
	}
	return "null"
}

// ParseType parses a Honeycomb type name.
func ParseType(s string) (Type, bool) {
	switch s {
	case "string":
		return TypeString, true
	case "integer", "int":
		return TypeInt, true
	case "float":
		return TypeFloat, true
	case "boolean", "bool":
		return TypeBool, true
	}
	return TypeNull, false
}

// Widen returns the type of a column that holds values of types a and b:
// integers and floats widen to float, anything else mixed becomes string,
// and null takes the other type. It is the column-type rule every store and
// the query engine apply (see docs/ARCHITECTURE.md, "Column types").
func Widen(a, b Type) Type {
	switch {
	case a == b:
		return a
	case a == TypeNull:
		return b
	case b == TypeNull:
		return a
	case a.Numeric() && b.Numeric():
		return TypeFloat
	}
	return TypeString
}

// Numeric reports whether the type is integer or float.
func (t Type) Numeric() bool { return t == TypeInt || t == TypeFloat }

// Value is a typed scalar: string, 64-bit integer, 64-bit float or boolean.
// It is small and passed by value; it never allocates beyond its string.
type Value struct {
	t Type
	s string
	n uint64
}

// String returns a string Value.
func String(s string) Value { return Value{t: TypeString, s: s} }

// Int returns an integer Value.
func Int(i int64) Value { return Value{t: TypeInt, n: uint64(i)} }

// Float returns a float Value.
func Float(f float64) Value { return Value{t: TypeFloat, n: math.Float64bits(f)} }

// Bool returns a boolean Value.
func Bool(b bool) Value {
	v := Value{t: TypeBool}
	if b {
		v.n = 1
	}
	return v
}

// Type returns the value's type; TypeNull for the zero Value.
func (v Value) Type() Type { return v.t }

// IsNull reports whether v is absent.
func (v Value) IsNull() bool { return v.t == TypeNull }

// Str returns the string of a string Value ("" otherwise).
func (v Value) Str() string { return v.s }

// Int returns the integer of an integer Value (0 otherwise).
func (v Value) Int() int64 {
	if v.t == TypeInt {
		return int64(v.n)
	}
	return 0
}

// Float returns the value as a float64: floats as is, integers converted.
func (v Value) Float() float64 {
	switch v.t {
	case TypeFloat:
		return math.Float64frombits(v.n)
	case TypeInt:
		return float64(int64(v.n))
	}
	return 0
}

// Bool returns the boolean of a boolean Value.
func (v Value) Bool() bool { return v.t == TypeBool && v.n == 1 }

// Any returns the value as a Go value: string, int64, float64, bool or nil.
func (v Value) Any() any {
	switch v.t {
	case TypeString:
		return v.s
	case TypeInt:
		return int64(v.n)
	case TypeFloat:
		return math.Float64frombits(v.n)
	case TypeBool:
		return v.n == 1
	}
	return nil
}

// Text renders the value as text, the form a string column keeps for a value
// of another type.
func (v Value) Text() string {
	switch v.t {
	case TypeString:
		return v.s
	case TypeInt:
		return strconv.FormatInt(int64(v.n), 10)
	case TypeFloat:
		return strconv.FormatFloat(math.Float64frombits(v.n), 'g', -1, 64)
	case TypeBool:
		return strconv.FormatBool(v.n == 1)
	}
	return ""
}

// FromAny converts a Go value (as decoded from JSON or msgpack) into a Value.
// Integers become TypeInt, other numbers TypeFloat. Nested maps and slices are
// not scalars: ok is false for them and for nil.
func FromAny(x any) (v Value, ok bool) {
	switch t := x.(type) {
	case string:
		return String(t), true
	case bool:
		return Bool(t), true
	case int:
		return Int(int64(t)), true
	case int8:
		return Int(int64(t)), true
	case int16:
		return Int(int64(t)), true
	case int32:
		return Int(int64(t)), true
	case int64:
		return Int(t), true
	case uint:
		return uintValue(uint64(t)), true
	case uint8:
		return Int(int64(t)), true
	case uint16:
		return Int(int64(t)), true
	case uint32:
		return Int(int64(t)), true
	case uint64:
		return uintValue(t), true
	case float32:
		return Float(float64(t)), true
	case float64:
		return Float(t), true
	}
	return Value{}, false
}

func uintValue(u uint64) Value {
	if u > math.MaxInt64 {
		return Float(float64(u))
	}
	return Int(int64(u))
}
