package honeycomb

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fieldMap returns an event's fields by name, failing on a repeated name.
func fieldMap(tb testing.TB, ev event.Event) map[string]event.Value {
	tb.Helper()
	m := make(map[string]event.Value, len(ev.Fields))
	for _, f := range ev.Fields {
		if _, dup := m[f.Key]; dup {
			tb.Fatalf("field %q repeated", f.Key)
		}
		m[f.Key] = f.Value
	}
	return m
}

// checkFields compares an event's fields with want.
func checkFields(tb testing.TB, ev event.Event, want map[string]event.Value) {
	tb.Helper()
	got := fieldMap(tb, ev)
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			tb.Errorf("field %q missing", k)
			continue
		}
		if g != w {
			tb.Errorf("field %q = %v (%v), want %v (%v)", k, g.Any(), g.Type(), w.Any(), w.Type())
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			tb.Errorf("unexpected field %q = %v", k, g.Any())
		}
	}
}

func TestDecodeJSONValues(t *testing.T) {
	cases := []struct {
		name string
		data string
		want map[string]event.Value
	}{
		{"string", `{"s":"hello"}`, map[string]event.Value{"s": event.String("hello")}},
		{"empty string kept", `{"s":""}`, map[string]event.Value{"s": event.String("")}},
		{"escapes", `{"s":"a\"b\\c\u00e9\n"}`, map[string]event.Value{"s": event.String("a\"b\\cé\n")}},
		{"unicode key", `{"dur\u00e9e":1}`, map[string]event.Value{"durée": event.Int(1)}},
		{"int", `{"n":42}`, map[string]event.Value{"n": event.Int(42)}},
		{"negative int", `{"n":-7}`, map[string]event.Value{"n": event.Int(-7)}},
		{"max int64", `{"n":9223372036854775807}`, map[string]event.Value{"n": event.Int(9223372036854775807)}},
		{"min int64", `{"n":-9223372036854775808}`, map[string]event.Value{"n": event.Int(-9223372036854775808)}},
		{"big int becomes float", `{"n":9223372036854775808}`, map[string]event.Value{"n": event.Float(9223372036854775808)}},
		{"huge int", `{"n":123456789012345678901234567890}`, map[string]event.Value{"n": event.Float(1.2345678901234568e29)}},
		{"exact big int", `{"n":1234567890123456789}`, map[string]event.Value{"n": event.Int(1234567890123456789)}},
		{"float", `{"f":3.25}`, map[string]event.Value{"f": event.Float(3.25)}},
		{"integral float", `{"f":1.0}`, map[string]event.Value{"f": event.Float(1)}},
		{"exponent", `{"f":1e3}`, map[string]event.Value{"f": event.Float(1000)}},
		{"overflowing float dropped", `{"f":1e999,"k":1}`, map[string]event.Value{"k": event.Int(1)}},
		{"bools", `{"t":true,"f":false}`, map[string]event.Value{"t": event.Bool(true), "f": event.Bool(false)}},
		{"null dropped", `{"n":null,"k":"v"}`, map[string]event.Value{"k": event.String("v")}},
		{"nested object as JSON", `{"o":{"a":1,"b":{"c":[1,"x",null]},"d":"q\"\u00e9"}}`,
			map[string]event.Value{"o": event.String(`{"a":1,"b":{"c":[1,"x",null]},"d":"q\"\u00e9"}`)}},
		{"nested whitespace compacted", `{"o":{ "a" : [ 1 , 2 ] }}`, map[string]event.Value{"o": event.String(`{"a":[1,2]}`)}},
		{"array as JSON", `{"a":[1,2.5,"x",true,null,{}]}`, map[string]event.Value{"a": event.String(`[1,2.5,"x",true,null,{}]`)}},
		{"empty array", `{"a":[]}`, map[string]event.Value{"a": event.String(`[]`)}},
		{"repeated key last wins", `{"a":1,"b":2,"a":"x"}`, map[string]event.Value{"a": event.String("x"), "b": event.Int(2)}},
		{"repeated key null keeps", `{"a":1,"a":null}`, map[string]event.Value{"a": event.Int(1)}},
		{"empty key dropped", `{"":1,"k":2}`, map[string]event.Value{"k": event.Int(2)}},
		{"long key cut", `{"` + strings.Repeat("k", 300) + `":1}`, map[string]event.Value{strings.Repeat("k", event.MaxColumnName): event.Int(1)}},
		{"long string cut", `{"s":"` + strings.Repeat("x", event.MaxStringBytes+10) + `"}`,
			map[string]event.Value{"s": event.String(strings.Repeat("x", event.MaxStringBytes))}},
		{"long string cut at rune", `{"s":"` + strings.Repeat("x", event.MaxStringBytes-1) + `é"}`,
			map[string]event.Value{"s": event.String(strings.Repeat("x", event.MaxStringBytes-1))}},
		{"invalid utf-8 replaced", "{\"s\":\"a\xffb\"}", map[string]event.Value{"s": event.String("a\uFFFDb")}},
		{"dotted keys kept", `{"trace.trace_id":"abc","duration_ms":1.5}`,
			map[string]event.Value{"trace.trace_id": event.String("abc"), "duration_ms": event.Float(1.5)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `[{"data":` + tc.data + `}]`
			res, err := decodeBatchJSON([]byte(body), decodeOptions{Dataset: "ds", Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Codes) != 1 || res.Codes[0] != codeOK || len(res.Events) != 1 {
				t.Fatalf("codes %v, %d events", res.Codes, len(res.Events))
			}
			checkFields(t, res.Events[0], tc.want)

			// The single-event endpoint decodes the same object the same way.
			ev, code := decodeEventJSON([]byte(tc.data), decodeOptions{Dataset: "ds", Now: testNow})
			if code != codeOK {
				t.Fatalf("single event: code %v", code)
			}
			checkFields(t, ev, tc.want)
		})
	}
}

func TestDecodeJSONTimeAndSampleRate(t *testing.T) {
	sec := time.Unix(1535589382, 0).UTC()
	ms := time.Unix(1535589382, 641e6).UTC()
	cases := []struct {
		name   string
		extra  string
		time   time.Time
		sample int64
	}{
		{"defaults", ``, testNow, 1},
		{"rfc3339", `"time":"2018-08-30T00:36:22Z"`, sec, 1},
		{"rfc3339 nano", `"time":"2018-08-30T00:36:22.641000000Z"`, ms, 1},
		{"rfc3339 offset", `"time":"2018-08-30T02:36:22.641+02:00"`, ms, 1},
		{"js toISOString", `"time":"2018-08-30T00:36:22.641Z"`, ms, 1},
		{"python naive isoformat", `"time":"2018-08-30T00:36:22.641000"`, ms, 1},
		{"epoch seconds number", `"time":1535589382`, sec, 1},
		{"epoch ms number", `"time":1535589382641`, ms, 1},
		{"epoch us number", `"time":1535589382641000`, ms, 1},
		{"epoch ns number", `"time":1535589382641000000`, ms, 1},
		{"epoch float", `"time":1535589382.641`, ms, 1},
		{"epoch ms string", `"time":"1535589382641"`, ms, 1},
		{"epoch float string", `"time":"1535589382.641"`, ms, 1},
		{"garbage time", `"time":"yesterday"`, testNow, 1},
		{"null time", `"time":null`, testNow, 1},
		{"object time", `"time":{}`, testNow, 1},
		{"samplerate", `"samplerate":10`, testNow, 10},
		{"samplerate string", `"samplerate":"7"`, testNow, 7},
		{"samplerate float", `"samplerate":2.9`, testNow, 2},
		{"samplerate zero", `"samplerate":0`, testNow, 1},
		{"samplerate negative", `"samplerate":-3`, testNow, 1},
		{"samplerate garbage", `"samplerate":"x"`, testNow, 1},
		{"samplerate null", `"samplerate":null`, testNow, 1},
		{"samplerate huge", `"samplerate":1e300`, testNow, 9223372036854775807},
		{"both", `"time":"2018-08-30T00:36:22Z","samplerate":4`, sec, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			extra := tc.extra
			if extra != "" {
				extra = "," + extra
			}
			body := `[{"data":{"a":1}` + extra + `}]`
			res, err := decodeBatchJSON([]byte(body), decodeOptions{Dataset: "ds", Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Events) != 1 {
				t.Fatalf("codes %v", res.Codes)
			}
			ev := res.Events[0]
			if !ev.Time.Equal(tc.time) || ev.SampleRate != tc.sample {
				t.Errorf("time %v samplerate %d, want %v %d", ev.Time, ev.SampleRate, tc.time, tc.sample)
			}
			if ev.Dataset != "ds" {
				t.Errorf("dataset %q", ev.Dataset)
			}
		})
	}
}

func TestDecodeJSONBatchStatuses(t *testing.T) {
	var many strings.Builder
	many.WriteString("{")
	for i := 0; i <= event.MaxFieldsPerEvent; i++ {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `"f%d":%d`, i, i)
	}
	many.WriteString("}")
	body := `[
		{"data":{"a":1}},
		{"data":{}},
		{},
		5,
		"x",
		{"data":"x"},
		{"data":[1]},
		{"data":null},
		{"data":` + many.String() + `},
		{"data":{"a":null}},
		{"data":{"bad":1-2}},
		{"data":{"b":2},"time":"garbage"}
	]`
	res, err := decodeBatchJSON([]byte(body), decodeOptions{Dataset: "ds", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	want := []eventCode{codeOK, codeEmpty, codeEmpty, codeMalformed, codeMalformed, codeMalformed, codeMalformed,
		codeEmpty, codeTooManyColumns, codeEmpty, codeMalformed, codeOK}
	if fmt.Sprint(res.Codes) != fmt.Sprint(want) {
		t.Fatalf("codes %v, want %v", res.Codes, want)
	}
	if len(res.Events) != 2 {
		t.Fatalf("%d events", len(res.Events))
	}
	checkFields(t, res.Events[0], map[string]event.Value{"a": event.Int(1)})
	checkFields(t, res.Events[1], map[string]event.Value{"b": event.Int(2)})

	got := string(appendStatuses(nil, res.Codes))
	wantJSON := `[{"status":202},{"status":400,"error":"Request body should not be empty."},` +
		`{"status":400,"error":"Request body should not be empty."},` +
		`{"status":400,"error":"Request body is malformed and cannot be read."},` +
		`{"status":400,"error":"Request body is malformed and cannot be read."},` +
		`{"status":400,"error":"Request body is malformed and cannot be read."},` +
		`{"status":400,"error":"Request body is malformed and cannot be read."},` +
		`{"status":400,"error":"Request body should not be empty."},` +
		`{"status":400,"error":"Event has too many columns."},` +
		`{"status":400,"error":"Request body should not be empty."},` +
		`{"status":400,"error":"Request body is malformed and cannot be read."},` +
		`{"status":202}]`
	if got != wantJSON {
		t.Errorf("statuses\n got %s\nwant %s", got, wantJSON)
	}
}

func TestDecodeJSONExactlyMaxFields(t *testing.T) {
	var b strings.Builder
	b.WriteString(`[{"data":{`)
	for i := 0; i < event.MaxFieldsPerEvent; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"f%d":%d`, i, i)
	}
	b.WriteString(`}}]`)
	res, err := decodeBatchJSON([]byte(b.String()), decodeOptions{Now: testNow})
	if err != nil || len(res.Events) != 1 || len(res.Events[0].Fields) != event.MaxFieldsPerEvent {
		t.Fatalf("err %v codes %v", err, res.Codes)
	}
}

func TestDecodeJSONWholeBodyErrors(t *testing.T) {
	for _, body := range []string{`{`, `{"data":{}}`, `"x"`, `[{"data":{}}`, `[1,]`, `[] []`, `nope`} {
		if _, err := decodeBatchJSON([]byte(body), decodeOptions{Now: testNow}); err == nil {
			t.Errorf("batch %q: no error", body)
		}
	}
	res, err := decodeBatchJSON([]byte(` [ ] `), decodeOptions{Now: testNow})
	if err != nil || len(res.Codes) != 0 {
		t.Errorf("empty array: %v %v", res, err)
	}
	for body, want := range map[string]eventCode{`{`: codeMalformed, `[]`: codeMalformed, `1`: codeMalformed, `{}`: codeEmpty, `{"a":null}`: codeEmpty} {
		if _, code := decodeEventJSON([]byte(body), decodeOptions{Now: testNow}); code != want {
			t.Errorf("event %q: code %v, want %v", body, code, want)
		}
	}
}

func TestDecodeEventJSONHeaders(t *testing.T) {
	tm := time.Unix(1535589382, 641e6).UTC()
	ev, code := decodeEventJSON([]byte(`{"a":1}`), decodeOptions{Dataset: "ds", Now: testNow, Time: tm, SampleRate: 20})
	if code != codeOK || !ev.Time.Equal(tm) || ev.SampleRate != 20 {
		t.Fatalf("code %v time %v rate %d", code, ev.Time, ev.SampleRate)
	}
	ev, _ = decodeEventJSON([]byte(`{"a":1}`), decodeOptions{Dataset: "ds", Now: testNow})
	if !ev.Time.Equal(testNow) || ev.SampleRate != 1 {
		t.Fatalf("defaults: time %v rate %d", ev.Time, ev.SampleRate)
	}
}

// TestDecodedFieldsIndependent checks that events of one batch do not share
// writable field storage and that nothing refers to the reused parser.
func TestDecodedFieldsIndependent(t *testing.T) {
	res, err := decodeBatchJSON([]byte(`[{"data":{"a":"one","b":1}},{"data":{"a":"two"}}]`), decodeOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	res.Events[0].Fields = append(res.Events[0].Fields, event.Field{Key: "z", Value: event.Int(9)})
	if res.Events[1].Fields[0].Key != "a" || res.Events[1].Fields[0].Value.Str() != "two" {
		t.Fatal("appending to one event's fields changed the next event")
	}
	// Reuse the pooled parser and builder; the first batch must not change.
	for i := 0; i < 10; i++ {
		if _, err := decodeBatchJSON([]byte(`[{"data":{"a":"XXXXXXXX","b":"YYYY"}}]`), decodeOptions{Now: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	if res.Events[0].Fields[0].Value.Str() != "one" || res.Events[1].Fields[0].Value.Str() != "two" {
		t.Fatal("decoded strings changed after the parser was reused")
	}
}
