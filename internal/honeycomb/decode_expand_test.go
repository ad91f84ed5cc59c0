package honeycomb

import (
	"fmt"
	"strings"
	"testing"

	"github.com/waggle-hq/waggle/internal/event"
)

func TestDecodeExpandJSONDepth(t *testing.T) {
	data := map[string]any{
		"top": "x",
		"a": map[string]any{
			"b":    1,
			"c":    map[string]any{"d": true, "e": map[string]any{"f": "deep"}},
			"list": []any{1, map[string]any{"k": "v"}},
			"none": nil,
		},
		"empty": map[string]any{},
	}
	body := `{"top":"x","a":{"b":1,"c":{"d":true,"e":{"f":"deep"}},"list":[1,{"k":"v"}],"none":null},"empty":{}}`
	cases := []struct {
		depth int
		want  map[string]event.Value
	}{
		{0, map[string]event.Value{
			"top":   event.String("x"),
			"a":     event.String(`{"b":1,"c":{"d":true,"e":{"f":"deep"}},"list":[1,{"k":"v"}],"none":null}`),
			"empty": event.String("{}"),
		}},
		{1, map[string]event.Value{
			"top":    event.String("x"),
			"a.b":    event.Int(1),
			"a.c":    event.String(`{"d":true,"e":{"f":"deep"}}`),
			"a.list": event.String(`[1,{"k":"v"}]`),
		}},
		{2, map[string]event.Value{
			"top":    event.String("x"),
			"a.b":    event.Int(1),
			"a.c.d":  event.Bool(true),
			"a.c.e":  event.String(`{"f":"deep"}`),
			"a.list": event.String(`[1,{"k":"v"}]`),
		}},
		{10, map[string]event.Value{
			"top":     event.String("x"),
			"a.b":     event.Int(1),
			"a.c.d":   event.Bool(true),
			"a.c.e.f": event.String("deep"),
			"a.list":  event.String(`[1,{"k":"v"}]`),
		}},
	}
	for _, c := range cases {
		opt := decodeOptions{Dataset: "ds", Now: testNow, ExpandDepth: c.depth}
		t.Run(fmt.Sprintf("json/depth %d", c.depth), func(t *testing.T) {
			ev, code := decodeEventJSON([]byte(body), opt)
			if code != codeOK {
				t.Fatalf("code %v", code)
			}
			checkFields(t, ev, c.want)
			res, err := decodeBatchJSON([]byte(`[{"data":`+body+`},{"data":`+body+`}]`), opt)
			if err != nil || len(res.Events) != 2 {
				t.Fatalf("batch: %v %+v", err, res)
			}
			for _, ev := range res.Events {
				checkFields(t, ev, c.want)
			}
		})
		t.Run(fmt.Sprintf("msgpack/depth %d", c.depth), func(t *testing.T) {
			want := c.want
			if c.depth == 0 {
				// msgpack maps have no order: compare the nested text as a set.
				want = nil
			}
			ev, code := decodeEventMsgpack(mustMsgpack(t, data), opt)
			if code != codeOK {
				t.Fatalf("code %v", code)
			}
			if want != nil {
				checkFields(t, ev, want)
			}
			res, err := decodeBatchMsgpack(mustMsgpack(t, []any{map[string]any{"data": data}, map[string]any{"data": data}}), opt)
			if err != nil || len(res.Events) != 2 {
				t.Fatalf("batch: %v %+v", err, res)
			}
			for _, ev := range res.Events {
				if want != nil {
					checkFields(t, ev, want)
				} else if len(ev.Fields) != 3 {
					t.Fatalf("depth 0 fields %+v", ev.Fields)
				}
			}
		})
	}
}

func TestDecodeExpandJSONLimits(t *testing.T) {
	opt := decodeOptions{Dataset: "ds", Now: testNow, ExpandDepth: 1}
	// Flattening past event.MaxFieldsPerEvent refuses the event.
	var sb strings.Builder
	sb.WriteString(`{"o":{`)
	for i := range event.MaxFieldsPerEvent + 1 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"k%d":%d`, i, i)
	}
	sb.WriteString(`}}`)
	if _, code := decodeEventJSON([]byte(sb.String()), opt); code != codeTooManyColumns {
		t.Fatalf("json: code %v, want too many columns", code)
	}
	m := map[string]any{}
	for i := range event.MaxFieldsPerEvent + 1 {
		m[fmt.Sprintf("k%d", i)] = i
	}
	res, err := decodeBatchMsgpack(mustMsgpack(t, []any{map[string]any{"data": map[string]any{"o": m}}, map[string]any{"data": map[string]any{"ok": 1}}}), opt)
	if err != nil || len(res.Codes) != 2 || res.Codes[0] != codeTooManyColumns || res.Codes[1] != codeOK || len(res.Events) != 1 {
		t.Fatalf("msgpack: %v %+v", err, res.Codes)
	}
	// Exactly the limit is fine; so are many events whose flattened fields
	// outgrow the room reserved for them.
	sb.Reset()
	sb.WriteString(`[`)
	for e := range 3 {
		if e > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"data":{"o":{`)
		for i := range event.MaxFieldsPerEvent {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `"k%d":%d`, i, e)
		}
		sb.WriteString(`}}}`)
	}
	sb.WriteString(`]`)
	batch, err := decodeBatchJSON([]byte(sb.String()), opt)
	if err != nil || len(batch.Events) != 3 {
		t.Fatalf("batch at the limit: %v %+v", err, batch.Codes)
	}
	for e, ev := range batch.Events {
		if len(ev.Fields) != event.MaxFieldsPerEvent {
			t.Fatalf("event %d has %d fields", e, len(ev.Fields))
		}
		if v, _ := ev.Get("o.k7"); v.Int() != int64(e) {
			t.Fatalf("event %d: o.k7 = %v", e, v.Any())
		}
	}
	// A flattened name equal to a top-level one: the last value wins.
	ev, code := decodeEventJSON([]byte(`{"a.b":1,"a":{"b":2}}`), opt)
	if code != codeOK {
		t.Fatal(code)
	}
	checkFields(t, ev, map[string]event.Value{"a.b": event.Int(2)})
}
