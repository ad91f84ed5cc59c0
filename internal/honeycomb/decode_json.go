package honeycomb

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/valyala/fastjson"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/wire"
)

// JSON bodies are parsed with fastjson, whose parser is reused across
// requests and whose values are visited in place; fields are built directly
// from them, never through map[string]any.

var jsonParsers fastjson.ParserPool

// maxPooledParse is the largest body parsed with a pooled parser. A parser
// keeps the tree of the largest document it parsed, several times that
// document's size; parsers of larger bodies are left to the collector so
// the pool never pins megabytes per idle parser.
const maxPooledParse = 256 << 10

// getParser returns a parser for a body of n bytes and the function that
// gives it back.
func getParser(n int) (*fastjson.Parser, func()) {
	if n > maxPooledParse {
		return new(fastjson.Parser), func() {}
	}
	p := jsonParsers.Get()
	return p, func() { jsonParsers.Put(p) }
}

// errNotArray and errNotObject report a body of the wrong JSON shape.
var (
	errNotArray  = errors.New("batch body is not a JSON array")
	errNotObject = errors.New("event body is not a JSON object")
)

// decodeBatchJSON decodes a /1/batch body: a JSON array of
// {"data":{…},"time":…,"samplerate":…}. An error means the whole body is
// unreadable; problems of single events are reported in Codes.
func decodeBatchJSON(body []byte, opt decodeOptions) (decodedBatch, error) {
	p, put := getParser(len(body))
	defer put()
	v, err := p.ParseBytes(body)
	if err != nil {
		return decodedBatch{}, fmt.Errorf("parse JSON batch: %w", err)
	}
	arr, err := v.Array()
	if err != nil {
		return decodedBatch{}, errNotArray
	}
	b := getBuilder()
	defer b.put()
	b.expand = opt.ExpandDepth

	// Size the fields' backing array for the whole batch at once.
	total := 0
	for _, el := range arr {
		if o := el.GetObject("data"); o != nil && o.Len() <= event.MaxFieldsPerEvent {
			total += o.Len()
		}
	}
	b.reserveFields(total, true)
	b.sizeArena(len(body))

	out := decodedBatch{
		Events: make([]event.Event, 0, len(arr)),
		Codes:  make([]eventCode, len(arr)),
	}
	for i, el := range arr {
		ev := event.Event{Dataset: opt.Dataset, Time: opt.Now, SampleRate: 1}
		code := b.batchEventJSON(el, &ev)
		out.Codes[i] = code
		if code == codeOK {
			out.Events = append(out.Events, ev)
		}
	}
	return out, nil
}

// batchEventJSON decodes one element of a batch into ev.
func (b *builder) batchEventJSON(el *fastjson.Value, ev *event.Event) eventCode {
	o, err := el.Object()
	if err != nil {
		return codeMalformed
	}
	if tv := o.Get("time"); tv != nil {
		if t, ok := b.jsonTime(tv); ok {
			ev.Time = t
		}
	}
	if sv := o.Get("samplerate"); sv != nil {
		ev.SampleRate = b.jsonSampleRate(sv)
	}
	data := o.Get("data")
	if data == nil || data.Type() == fastjson.TypeNull {
		return codeEmpty
	}
	do, err := data.Object()
	if err != nil {
		return codeMalformed
	}
	fields, code := b.jsonFields(do)
	ev.Fields = fields
	return code
}

// decodeEventJSON decodes a /1/events body: one JSON object of fields.
func decodeEventJSON(body []byte, opt decodeOptions) (event.Event, eventCode) {
	ev := event.Event{Dataset: opt.Dataset, Time: opt.Time, SampleRate: opt.SampleRate}
	if ev.Time.IsZero() {
		ev.Time = opt.Now
	}
	if ev.SampleRate < 1 {
		ev.SampleRate = 1
	}
	p, put := getParser(len(body))
	defer put()
	v, err := p.ParseBytes(body)
	if err != nil {
		return ev, codeMalformed
	}
	o, err := v.Object()
	if err != nil {
		return ev, codeMalformed
	}
	b := getBuilder()
	defer b.put()
	b.expand = opt.ExpandDepth
	b.sizeArena(len(body))
	fields, code := b.jsonFields(o)
	ev.Fields = fields
	return ev, code
}

// jsonFields builds the fields of one event from a data object.
func (b *builder) jsonFields(o *fastjson.Object) ([]event.Field, eventCode) {
	n := o.Len()
	switch {
	case n == 0:
		return nil, codeEmpty
	case n > event.MaxFieldsPerEvent:
		return nil, codeTooManyColumns
	}
	b.begin(n)
	bad := false
	o.Visit(func(k []byte, v *fastjson.Value) {
		if bad {
			return
		}
		if b.expand > 0 && v.Type() == fastjson.TypeObject {
			b.keybuf = append(b.keybuf[:0], k...)
			b.expandJSON(v, 1)
			return
		}
		if !b.addJSON(k, v) {
			bad = true
		}
	})
	switch {
	case bad:
		b.fields = nil
		return nil, codeMalformed
	case len(b.fields) == 0:
		b.fields = nil
		return nil, codeEmpty
	case len(b.fields) > event.MaxFieldsPerEvent:
		b.fields = nil
		return nil, codeTooManyColumns
	}
	return b.finish(), codeOK
}

// expandJSON adds the members of object v, at nesting depth depth, as
// fields named b.keybuf + "." + member name, flattening nested objects
// while depth < b.expand.
func (b *builder) expandJSON(v *fastjson.Value, depth int) {
	o, _ := v.Object()
	o.Visit(func(k []byte, sv *fastjson.Value) {
		if len(b.fields) > event.MaxFieldsPerEvent {
			return // too many already: the event is refused
		}
		n := len(b.keybuf)
		b.keybuf = append(append(b.keybuf, '.'), k...)
		if sv.Type() == fastjson.TypeObject && depth < b.expand {
			b.expandJSON(sv, depth+1)
		} else {
			b.addJSON(b.keybuf, sv) // values of a parsed tree are valid
		}
		b.keybuf = b.keybuf[:n]
	})
}

// addJSON adds one JSON field; false means the value is not valid JSON.
func (b *builder) addJSON(k []byte, v *fastjson.Value) bool {
	switch v.Type() {
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		b.add(k, b.str(s))
	case fastjson.TypeNumber:
		b.scratch = v.MarshalTo(b.scratch[:0])
		val, ok := parseJSONNumber(b.scratch)
		if !ok {
			return false
		}
		b.add(k, val)
	case fastjson.TypeTrue:
		b.add(k, event.Bool(true))
	case fastjson.TypeFalse:
		b.add(k, event.Bool(false))
	case fastjson.TypeObject, fastjson.TypeArray:
		// Untouched nested values marshal back to their compact source text.
		b.scratch = v.MarshalTo(b.scratch[:0])
		b.add(k, b.str(b.scratch))
	}
	return true
}

// parseJSONNumber reads a JSON number: an integer literal that fits in int64
// is an integer, anything else a float. A NaN or infinite float yields the
// null Value (the field is dropped); ok is false for text that is no number.
func parseJSONNumber(raw []byte) (v event.Value, ok bool) {
	s := b2s(raw)
	integer := true
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' || c == 'n' || c == 'N' || c == 'i' || c == 'I' {
			integer = false
			break
		}
	}
	if integer {
		n, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return event.Int(n), true
		}
		if !errors.Is(err, strconv.ErrRange) {
			return event.Value{}, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return event.Value{}, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return event.Value{}, true
	}
	return event.Float(f), true
}

// jsonTime reads a batch event's "time": a timestamp string or a numeric
// epoch. ok is false when it is neither.
func (b *builder) jsonTime(v *fastjson.Value) (t time.Time, ok bool) {
	switch v.Type() {
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return wire.ParseTime(b2s(s))
	case fastjson.TypeNumber:
		b.scratch = v.MarshalTo(b.scratch[:0])
		return wire.ParseEpoch(b2s(b.scratch))
	}
	return t, false
}

// jsonSampleRate reads a batch event's "samplerate"; anything unusable is 1.
func (b *builder) jsonSampleRate(v *fastjson.Value) int64 {
	switch v.Type() {
	case fastjson.TypeNumber:
		b.scratch = v.MarshalTo(b.scratch[:0])
		return parseSampleRate(b2s(b.scratch))
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return parseSampleRate(b2s(s))
	}
	return 1
}

// parseSampleRate reads a sample rate from text: an integer, or a float
// truncated; anything below 1 or unreadable is 1.
func parseSampleRate(s string) int64 {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return clampSampleRate(n)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 1
	}
	return sampleRateFromFloat(f)
}

func sampleRateFromFloat(f float64) int64 {
	switch {
	case math.IsNaN(f) || f < 1:
		return 1
	case f >= math.MaxInt64:
		return math.MaxInt64
	}
	return int64(f)
}

func clampSampleRate(n int64) int64 {
	if n < 1 {
		return 1
	}
	return n
}
