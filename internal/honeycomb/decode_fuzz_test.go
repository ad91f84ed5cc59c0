package honeycomb

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/waggle-hq/waggle/internal/event"
)

// checkDecoded checks the invariants every decoded batch keeps, whatever
// the input.
func checkDecoded(t *testing.T, res decodedBatch) {
	t.Helper()
	ok := 0
	for _, c := range res.Codes {
		if c == codeOK {
			ok++
		} else if c.message() == "" {
			t.Fatalf("code %d has no message", c)
		}
	}
	if ok != len(res.Events) {
		t.Fatalf("%d ok codes but %d events", ok, len(res.Events))
	}
	for _, ev := range res.Events {
		checkEvent(t, ev)
	}
}

func checkEvent(t *testing.T, ev event.Event) {
	t.Helper()
	if len(ev.Fields) == 0 || len(ev.Fields) > event.MaxFieldsPerEvent {
		t.Fatalf("event with %d fields", len(ev.Fields))
	}
	if ev.SampleRate < 1 {
		t.Fatalf("sample rate %d", ev.SampleRate)
	}
	if ev.Time.IsZero() {
		t.Fatal("zero time")
	}
	seen := make(map[string]bool, len(ev.Fields))
	for _, f := range ev.Fields {
		if f.Key == "" || len(f.Key) > event.MaxColumnName || !utf8.ValidString(f.Key) || seen[f.Key] {
			t.Fatalf("bad or repeated key %q", f.Key)
		}
		seen[f.Key] = true
		if f.Value.IsNull() {
			t.Fatalf("null value for %q", f.Key)
		}
		if s := f.Value.Str(); len(s) > event.MaxStringBytes || !utf8.ValidString(s) {
			t.Fatalf("bad string value for %q (%d bytes)", f.Key, len(s))
		}
	}
}

var fuzzOpt = decodeOptions{Dataset: "fuzz", Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}

func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{
		`[{"data":{"a":1,"b":"x","c":1.5,"d":true,"e":null,"f":{"g":[1,2]}},"time":"2024-03-01T12:34:56.789Z","samplerate":4}]`,
		`[{"data":{"a":9223372036854775808,"a":-1},"time":1535589382641},{"data":{}},5,{"data":"x"}]`,
		`[{"data":{"s":"\u00e9\ud800\"","":1,"n":1e999,"m":NaN}, "time":1.5e9, "samplerate":"3"}]`,
		`[]`, `{"a":1}`, `[`, `[{"data":{"x":1-2}}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if res, err := decodeBatchJSON(body, fuzzOpt); err == nil {
			checkDecoded(t, res)
		}
		if ev, code := decodeEventJSON(body, fuzzOpt); code == codeOK {
			checkEvent(t, ev)
		}
	})
}

func FuzzDecodeMsgpack(f *testing.F) {
	ts := time.Date(2024, 3, 1, 12, 34, 56, 789, time.UTC)
	f.Add(mustMsgpack(f, []mpEvent{{Data: map[string]any{"a": 1, "b": "x", "c": 1.5, "d": true, "e": nil, "f": map[string]any{"g": []int{1, 2}}, "t": ts}, SampleRate: 4, Timestamp: &ts}}))
	f.Add(mustMsgpack(f, []any{map[string]any{"data": map[any]any{1: 2, "k": []byte{0xff}}}, "x", 5, map[string]any{"data": "x", "time": "1535589382641"}}))
	f.Add(mustMsgpack(f, map[string]any{"single": uint64(1 << 63), "f32": float32(1.25)}))
	f.Add([]byte{0x91, 0x81, 0xa4, 'd', 'a', 't', 'a', 0x81, 0xa1, 'x', 0xd6, 0xff, 0, 0, 0, 1})
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		if res, err := decodeBatchMsgpack(body, fuzzOpt); err == nil {
			checkDecoded(t, res)
		}
		if ev, code := decodeEventMsgpack(body, fuzzOpt); code == codeOK {
			checkEvent(t, ev)
		}
	})
}
