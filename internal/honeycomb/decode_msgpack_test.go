package honeycomb

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/waggle-hq/waggle/internal/event"
)

// mpEvent is how libhoney-go (transmission/event.go) encodes a batched
// event with vmihailenco/msgpack/v5.
type mpEvent struct {
	Data       map[string]any `msgpack:"data"`
	SampleRate uint           `msgpack:"samplerate,omitempty"`
	Timestamp  *time.Time     `msgpack:"time,omitempty"`
}

func mustMsgpack(tb testing.TB, v any) []byte {
	tb.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true) // deterministic nested JSON text
	if err := enc.Encode(v); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeMsgpackBatch(t *testing.T) {
	ts := time.Date(2024, 3, 1, 12, 34, 56, 123456789, time.UTC)
	tsSec := time.Date(2024, 3, 1, 12, 34, 56, 0, time.UTC)
	far := time.Date(2600, 1, 1, 0, 0, 0, 5, time.UTC) // needs the 96-bit form
	body := mustMsgpack(t, []mpEvent{
		{
			Data: map[string]any{
				"str": "hello", "bytes": []byte("raw"), "int8": int8(-5), "int64": int64(math.MinInt64),
				"uint64": uint64(math.MaxUint64), "uint32": uint32(7), "f32": float32(1.5), "f64": 2.25,
				"bool": true, "nil": nil, "nan": math.NaN(),
				"map":   map[string]any{"a": 1, "b": []any{"x", nil, 2.5}},
				"slice": []string{"a", "b"},
				"when":  ts,
			},
			SampleRate: 10,
			Timestamp:  &ts,
		},
		{Data: map[string]any{"a": 1}, Timestamp: &tsSec},
		{Data: map[string]any{"a": 2}, Timestamp: &far},
		{Data: map[string]any{}},
		{Data: nil},
	})
	res, err := decodeBatchMsgpack(body, decodeOptions{Dataset: "ds", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	want := []eventCode{codeOK, codeOK, codeOK, codeEmpty, codeEmpty}
	if fmt.Sprint(res.Codes) != fmt.Sprint(want) {
		t.Fatalf("codes %v, want %v", res.Codes, want)
	}
	ev := res.Events[0]
	if !ev.Time.Equal(ts) || ev.SampleRate != 10 || ev.Dataset != "ds" {
		t.Errorf("time %v rate %d dataset %q", ev.Time, ev.SampleRate, ev.Dataset)
	}
	checkFields(t, ev, map[string]event.Value{
		"str": event.String("hello"), "bytes": event.String("raw"), "int8": event.Int(-5),
		"int64": event.Int(math.MinInt64), "uint64": event.Float(math.MaxUint64), "uint32": event.Int(7),
		"f32": event.Float(1.5), "f64": event.Float(2.25), "bool": event.Bool(true),
		"map":   event.String(`{"a":1,"b":["x",null,2.5]}`),
		"slice": event.String(`["a","b"]`),
		"when":  event.String("2024-03-01T12:34:56.123456789Z"),
	})
	if !res.Events[1].Time.Equal(tsSec) || res.Events[1].SampleRate != 1 {
		t.Errorf("event 1: time %v rate %d", res.Events[1].Time, res.Events[1].SampleRate)
	}
	if !res.Events[2].Time.Equal(far) {
		t.Errorf("event 2: time %v", res.Events[2].Time)
	}
}

func TestDecodeMsgpackTimeForms(t *testing.T) {
	ms := time.Unix(1535589382, 641e6).UTC()
	cases := []struct {
		name string
		time any
		want time.Time
	}{
		{"ext", ms, ms},
		{"rfc3339 string", "2018-08-30T00:36:22.641Z", ms},
		{"epoch ms int", int64(1535589382641), ms},
		{"epoch seconds uint", uint32(1535589382), ms.Truncate(time.Second)},
		{"epoch float", 1535589382.641, ms},
		{"garbage", "soon", testNow},
		{"nil", nil, testNow},
		{"map", map[string]any{"x": 1}, testNow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := mustMsgpack(t, []map[string]any{{"data": map[string]any{"a": 1}, "time": tc.time, "samplerate": 3}})
			res, err := decodeBatchMsgpack(body, decodeOptions{Now: testNow})
			if err != nil || len(res.Events) != 1 {
				t.Fatalf("err %v codes %v", err, res.Codes)
			}
			if got := res.Events[0].Time; got.Sub(tc.want).Abs() > time.Microsecond {
				t.Errorf("time %v, want %v", got, tc.want)
			}
			if res.Events[0].SampleRate != 3 {
				t.Errorf("samplerate %d", res.Events[0].SampleRate)
			}
		})
	}
}

func TestDecodeMsgpackSampleRates(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want int64
	}{{uint8(5), 5}, {int64(-2), 1}, {0, 1}, {2.7, 2}, {"9", 9}, {"x", 1}, {nil, 1}, {true, 1}, {uint64(math.MaxUint64), math.MaxInt64}} {
		body := mustMsgpack(t, []map[string]any{{"data": map[string]any{"a": 1}, "samplerate": tc.in}})
		res, err := decodeBatchMsgpack(body, decodeOptions{Now: testNow})
		if err != nil || len(res.Events) != 1 {
			t.Fatalf("%v: err %v codes %v", tc.in, err, res.Codes)
		}
		if got := res.Events[0].SampleRate; got != tc.want {
			t.Errorf("samplerate %v: got %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestDecodeMsgpackPerEventErrors(t *testing.T) {
	many := make(map[string]any, event.MaxFieldsPerEvent+1)
	for i := 0; i <= event.MaxFieldsPerEvent; i++ {
		many[fmt.Sprint("f", i)] = i
	}
	body := mustMsgpack(t, []any{
		map[string]any{"data": map[string]any{"a": 1}},
		"not a map",
		map[string]any{"data": "not a map"},
		map[string]any{"data": many},
		map[string]any{"nodata": 1},
		map[string]any{"data": map[string]any{"n": nil}},
		map[string]any{"data": map[any]any{1: "int key", "k": "v"}},
	})
	res, err := decodeBatchMsgpack(body, decodeOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	want := []eventCode{codeOK, codeMalformed, codeMalformed, codeTooManyColumns, codeEmpty, codeEmpty, codeOK}
	if fmt.Sprint(res.Codes) != fmt.Sprint(want) {
		t.Fatalf("codes %v, want %v", res.Codes, want)
	}
	checkFields(t, res.Events[1], map[string]event.Value{"k": event.String("v")})
}

func TestDecodeMsgpackWholeBodyErrors(t *testing.T) {
	good := mustMsgpack(t, []mpEvent{{Data: map[string]any{"a": "b"}}})
	deep := []byte{0x91, 0x81, 0xa4, 'd', 'a', 't', 'a', 0x81, 0xa1, 'x'}
	for i := 0; i < 200; i++ {
		deep = append(deep, 0x91)
	}
	deep = append(deep, 0xc0)
	cases := map[string][]byte{
		"empty":          {},
		"not array":      mustMsgpack(t, map[string]any{"a": 1}),
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(append([]byte(nil), good...), 0xc0),
		"reserved byte":  {0x91, 0xc1},
		"huge array":     {0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge string":    {0x91, 0x81, 0xdb, 0xff, 0xff, 0xff, 0xff},
		"too deep":       deep,
	}
	for name, body := range cases {
		if _, err := decodeBatchMsgpack(body, decodeOptions{Now: testNow}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDecodeEventMsgpack(t *testing.T) {
	ev, code := decodeEventMsgpack(mustMsgpack(t, map[string]any{"a": "b", "n": 3}), decodeOptions{Dataset: "ds", Now: testNow, SampleRate: 4})
	if code != codeOK || ev.SampleRate != 4 || !ev.Time.Equal(testNow) {
		t.Fatalf("code %v rate %d time %v", code, ev.SampleRate, ev.Time)
	}
	checkFields(t, ev, map[string]event.Value{"a": event.String("b"), "n": event.Int(3)})
	if _, code := decodeEventMsgpack(mustMsgpack(t, []int{1}), decodeOptions{Now: testNow}); code != codeMalformed {
		t.Errorf("array body: code %v", code)
	}
	if _, code := decodeEventMsgpack(mustMsgpack(t, map[string]any{}), decodeOptions{Now: testNow}); code != codeEmpty {
		t.Errorf("empty map: code %v", code)
	}
}

func TestAppendJSONString(t *testing.T) {
	got := string(appendJSONString(nil, []byte("a\"\\\n\r\t\x01é\xff")))
	want := `"a\"\\\n\r\t\u0001é` + "\uFFFD" + `"`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
