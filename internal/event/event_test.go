package event

import (
	"math"
	"testing"
)

func TestSlug(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"MyDataset", "mydataset", true},
		{"MyDatasET", "mydataset", true},
		{"MyDataset!", "mydataset-", true},
		{"my dataset!", "my-dataset-", true},
		{"  padded  ", "padded", true},
		{"svc.name_v2-x", "svc.name_v2-x", true},
		{"a/b", "a-b", true},
		{"Ünïcode", "-n-code", true},
		{"", "", false},
		{"   ", "", false},
		{string(make([]byte, MaxDatasetName+1)), "", false},
	}
	for _, tc := range cases {
		got, err := Slug(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Slug(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	cases := []struct {
		v    Value
		typ  Type
		any  any
		text string
	}{
		{String("x"), TypeString, "x", "x"},
		{Int(-42), TypeInt, int64(-42), "-42"},
		{Int(math.MaxInt64), TypeInt, int64(math.MaxInt64), "9223372036854775807"},
		{Float(2.5), TypeFloat, 2.5, "2.5"},
		{Bool(true), TypeBool, true, "true"},
		{Bool(false), TypeBool, false, "false"},
		{Value{}, TypeNull, nil, ""},
	}
	for _, tc := range cases {
		if tc.v.Type() != tc.typ || tc.v.Any() != tc.any || tc.v.Text() != tc.text {
			t.Errorf("%#v: type %v any %v text %q; want %v %v %q", tc.v, tc.v.Type(), tc.v.Any(), tc.v.Text(), tc.typ, tc.any, tc.text)
		}
	}
	if Int(7).Float() != 7 || Float(7.5).Float() != 7.5 || String("7").Float() != 0 {
		t.Error("Float conversion is off")
	}
}

func TestFromAny(t *testing.T) {
	cases := []struct {
		in   any
		want Value
		ok   bool
	}{
		{"s", String("s"), true},
		{true, Bool(true), true},
		{int(3), Int(3), true},
		{int8(-3), Int(-3), true},
		{uint32(3), Int(3), true},
		{uint64(math.MaxUint64), Float(float64(math.MaxUint64)), true},
		{float32(1.5), Float(1.5), true},
		{1.25, Float(1.25), true},
		{nil, Value{}, false},
		{map[string]any{}, Value{}, false},
		{[]any{1}, Value{}, false},
	}
	for _, tc := range cases {
		got, ok := FromAny(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("FromAny(%#v) = %#v, %v; want %#v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEventGetSet(t *testing.T) {
	var e Event
	e.Set("a", Int(1))
	e.Set("b", String("x"))
	e.Set("a", Int(2))
	if len(e.Fields) != 2 {
		t.Fatalf("Set duplicated a key: %v", e.Fields)
	}
	if v, ok := e.Get("a"); !ok || v.Int() != 2 {
		t.Errorf("Get(a) = %v, %v", v, ok)
	}
	if _, ok := e.Get("missing"); ok {
		t.Error("Get of a missing key succeeded")
	}
	if e.Size() <= 0 {
		t.Error("Size must be positive")
	}
}

func TestParseType(t *testing.T) {
	for _, typ := range []Type{TypeString, TypeInt, TypeFloat, TypeBool} {
		if got, ok := ParseType(typ.String()); !ok || got != typ {
			t.Errorf("ParseType(%q) = %v, %v", typ.String(), got, ok)
		}
	}
	if _, ok := ParseType("histogram"); ok {
		t.Error("ParseType accepted an unknown type")
	}
}

func TestWiden(t *testing.T) {
	cases := []struct{ a, b, want Type }{
		{TypeInt, TypeInt, TypeInt},
		{TypeInt, TypeFloat, TypeFloat},
		{TypeFloat, TypeInt, TypeFloat},
		{TypeInt, TypeString, TypeString},
		{TypeBool, TypeInt, TypeString},
		{TypeBool, TypeBool, TypeBool},
		{TypeNull, TypeBool, TypeBool},
		{TypeFloat, TypeNull, TypeFloat},
		{TypeString, TypeFloat, TypeString},
	}
	for _, tc := range cases {
		if got := Widen(tc.a, tc.b); got != tc.want {
			t.Errorf("Widen(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
