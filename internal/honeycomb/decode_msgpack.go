package honeycomb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/wire"
)

// msgpack bodies (libhoney-go with EnableMsgpackEncoding) are read by a small
// hand-written reader over the body bytes: nothing is decoded into
// interface values, and strings are copied once, into the builder's arena.

// errMsgpack reports a body that is not well-formed msgpack.
var errMsgpack = errors.New("malformed msgpack")

// maxMsgpackDepth bounds nesting; deeper bodies are malformed (this keeps a
// crafted body from recursing without bound).
const maxMsgpackDepth = 100

// mpKind is the kind of a msgpack value.
type mpKind uint8

const (
	mpNil mpKind = iota
	mpBool
	mpInt
	mpUint
	mpFloat
	mpStr
	mpBin
	mpArray
	mpMap
	mpExt
)

// mpValue is one decoded msgpack value header, kept small because it is
// returned by value for every key and value. For arrays and maps the
// elements follow in the reader.
type mpValue struct {
	raw  []byte // str, bin and ext payload, a window on the body
	u    uint64 // bool (0/1), int and float bits, uint, array/map length
	kind mpKind
	ext  int8
}

func (v mpValue) i() int64   { return int64(v.u) }
func (v mpValue) f() float64 { return math.Float64frombits(v.u) }
func (v mpValue) b() bool    { return v.u != 0 }
func (v mpValue) n() int     { return int(v.u) }

// mpReader reads msgpack values from a byte slice.
type mpReader struct {
	b   []byte
	off int
}

func (r *mpReader) take(n int) ([]byte, bool) {
	if n < 0 || len(r.b)-r.off < n {
		return nil, false
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, true
}

func (r *mpReader) uint(n int) (uint64, bool) {
	p, ok := r.take(n)
	if !ok {
		return 0, false
	}
	switch n {
	case 1:
		return uint64(p[0]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), true
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), true
	}
	return binary.BigEndian.Uint64(p), true
}

// length reads an n-byte length and checks that at least min bytes per
// element could follow.
func (r *mpReader) length(n, min int) (int, bool) {
	u, ok := r.uint(n)
	if !ok || u > uint64(len(r.b)-r.off)/uint64(min) {
		return 0, false
	}
	return int(u), true
}

// next reads one value header.
func (r *mpReader) next() (v mpValue, ok bool) {
	p, ok := r.take(1)
	if !ok {
		return v, false
	}
	c := p[0]
	switch {
	case c <= 0x7f:
		return mpValue{kind: mpInt, u: uint64(c)}, true
	case c >= 0xe0:
		return mpValue{kind: mpInt, u: uint64(int64(int8(c)))}, true
	case c&0xf0 == 0x80:
		n := int(c & 0x0f)
		return mpValue{kind: mpMap, u: uint64(n)}, n <= (len(r.b)-r.off)/2
	case c&0xf0 == 0x90:
		n := int(c & 0x0f)
		return mpValue{kind: mpArray, u: uint64(n)}, n <= len(r.b)-r.off
	case c&0xe0 == 0xa0:
		raw, ok := r.take(int(c & 0x1f))
		return mpValue{kind: mpStr, raw: raw}, ok
	}
	switch c {
	case 0xc0:
		return mpValue{kind: mpNil}, true
	case 0xc2, 0xc3:
		v := mpValue{kind: mpBool}
		if c == 0xc3 {
			v.u = 1
		}
		return v, true
	case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb:
		size := 1 // bin8, str8
		switch c {
		case 0xc5, 0xda: // bin16, str16
			size = 2
		case 0xc6, 0xdb: // bin32, str32
			size = 4
		}
		n, ok := r.length(size, 1)
		if !ok {
			return v, false
		}
		raw, ok := r.take(n)
		kind := mpStr
		if c <= 0xc6 {
			kind = mpBin
		}
		return mpValue{kind: kind, raw: raw}, ok
	case 0xc7, 0xc8, 0xc9:
		size := 1 << (c - 0xc7) // 1, 2, 4
		n, ok := r.length(size, 1)
		if !ok {
			return v, false
		}
		return r.extBody(n)
	case 0xca:
		u, ok := r.uint(4)
		return mpValue{kind: mpFloat, u: math.Float64bits(float64(math.Float32frombits(uint32(u))))}, ok
	case 0xcb:
		u, ok := r.uint(8)
		return mpValue{kind: mpFloat, u: u}, ok
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, ok := r.uint(1 << (c - 0xcc))
		return mpValue{kind: mpUint, u: u}, ok
	case 0xd0:
		u, ok := r.uint(1)
		return mpValue{kind: mpInt, u: uint64(int64(int8(u)))}, ok
	case 0xd1:
		u, ok := r.uint(2)
		return mpValue{kind: mpInt, u: uint64(int64(int16(u)))}, ok
	case 0xd2:
		u, ok := r.uint(4)
		return mpValue{kind: mpInt, u: uint64(int64(int32(u)))}, ok
	case 0xd3:
		u, ok := r.uint(8)
		return mpValue{kind: mpInt, u: u}, ok
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return r.extBody(1 << (c - 0xd4)) // fixext 1, 2, 4, 8, 16
	case 0xdc, 0xdd:
		n, ok := r.length(2<<(c-0xdc), 1) // 2 or 4 bytes
		return mpValue{kind: mpArray, u: uint64(n)}, ok
	case 0xde, 0xdf:
		n, ok := r.length(2<<(c-0xde), 2)
		return mpValue{kind: mpMap, u: uint64(n)}, ok
	}
	return v, false // 0xc1 is never used
}

func (r *mpReader) extBody(n int) (mpValue, bool) {
	t, ok := r.take(1)
	if !ok {
		return mpValue{}, false
	}
	raw, ok := r.take(n)
	return mpValue{kind: mpExt, ext: int8(t[0]), raw: raw}, ok
}

// skip skips the elements of v (an array or a map); scalars have none.
func (r *mpReader) skip(v mpValue, depth int) bool {
	if depth > maxMsgpackDepth {
		return false
	}
	n := v.n()
	if v.kind == mpMap {
		n *= 2
	} else if v.kind != mpArray {
		return true
	}
	for i := 0; i < n; i++ {
		e, ok := r.next()
		if !ok || !r.skip(e, depth+1) {
			return false
		}
	}
	return true
}

// mpTime decodes the msgpack timestamp extension (type -1) in its 32-, 64-
// and 96-bit forms.
func mpTime(raw []byte) (time.Time, bool) {
	switch len(raw) {
	case 4:
		return time.Unix(int64(binary.BigEndian.Uint32(raw)), 0).UTC(), true
	case 8:
		u := binary.BigEndian.Uint64(raw)
		nsec := int64(u >> 34)
		if nsec > 999999999 {
			return time.Time{}, false
		}
		return time.Unix(int64(u&(1<<34-1)), nsec).UTC(), true
	case 12:
		nsec := int64(binary.BigEndian.Uint32(raw))
		if nsec > 999999999 {
			return time.Time{}, false
		}
		return time.Unix(int64(binary.BigEndian.Uint64(raw[4:])), nsec).UTC(), true
	}
	return time.Time{}, false
}

// decodeBatchMsgpack decodes a /1/batch msgpack body: an array of maps with
// "data", "time" and "samplerate", as libhoney-go sends it.
func decodeBatchMsgpack(body []byte, opt decodeOptions) (decodedBatch, error) {
	r := &mpReader{b: body}
	top, ok := r.next()
	if !ok {
		return decodedBatch{}, errMsgpack
	}
	if top.kind != mpArray {
		return decodedBatch{}, fmt.Errorf("%w: batch body is not an array", errMsgpack)
	}
	b := getBuilder()
	defer b.put()
	b.expand = opt.ExpandDepth
	b.sizeArena(len(body))
	out := decodedBatch{
		Events: make([]event.Event, 0, top.n()),
		Codes:  make([]eventCode, top.n()),
	}
	for i := 0; i < top.n(); i++ {
		ev := event.Event{Dataset: opt.Dataset, Time: opt.Now, SampleRate: 1}
		b.expect = top.n() - i - 1
		code, ok := b.batchEventMsgpack(r, &ev)
		if !ok {
			return decodedBatch{}, fmt.Errorf("%w: event %d", errMsgpack, i)
		}
		out.Codes[i] = code
		if code == codeOK {
			out.Events = append(out.Events, ev)
		}
	}
	if r.off != len(r.b) {
		return decodedBatch{}, fmt.Errorf("%w: %d bytes after the batch", errMsgpack, len(r.b)-r.off)
	}
	return out, nil
}

// batchEventMsgpack decodes one element of a batch; ok is false when the
// body is not well-formed msgpack.
func (b *builder) batchEventMsgpack(r *mpReader, ev *event.Event) (code eventCode, ok bool) {
	el, ok := r.next()
	if !ok {
		return codeMalformed, false
	}
	if el.kind != mpMap {
		return codeMalformed, r.skip(el, 1)
	}
	code = codeEmpty
	for j := 0; j < el.n(); j++ {
		k, ok := r.next()
		if !ok {
			return codeMalformed, false
		}
		v, ok := r.next()
		if !ok {
			return codeMalformed, false
		}
		if k.kind != mpStr && k.kind != mpBin {
			if !r.skip(k, 1) || !r.skip(v, 1) {
				return codeMalformed, false
			}
			continue
		}
		switch string(k.raw) {
		case "data":
			switch v.kind {
			case mpNil:
				code = codeEmpty
			case mpMap:
				ev.Fields, code, ok = b.msgpackFields(r, v)
				if !ok {
					return codeMalformed, false
				}
			default:
				code = codeMalformed
				if !r.skip(v, 1) {
					return codeMalformed, false
				}
			}
		case "time":
			if t, tok := msgpackTime(v); tok {
				ev.Time = t
			}
			if !r.skip(v, 1) {
				return codeMalformed, false
			}
		case "samplerate":
			ev.SampleRate = msgpackSampleRate(v)
			if !r.skip(v, 1) {
				return codeMalformed, false
			}
		default:
			if !r.skip(v, 1) {
				return codeMalformed, false
			}
		}
	}
	return code, true
}

// decodeEventMsgpack decodes a /1/events msgpack body: one map of fields.
func decodeEventMsgpack(body []byte, opt decodeOptions) (event.Event, eventCode) {
	ev := event.Event{Dataset: opt.Dataset, Time: opt.Time, SampleRate: opt.SampleRate}
	if ev.Time.IsZero() {
		ev.Time = opt.Now
	}
	if ev.SampleRate < 1 {
		ev.SampleRate = 1
	}
	r := &mpReader{b: body}
	top, ok := r.next()
	if !ok || top.kind != mpMap {
		return ev, codeMalformed
	}
	b := getBuilder()
	defer b.put()
	b.expand = opt.ExpandDepth
	b.sizeArena(len(body))
	fields, code, ok := b.msgpackFields(r, top)
	if !ok || r.off != len(r.b) {
		return ev, codeMalformed
	}
	ev.Fields = fields
	return ev, code
}

// msgpackFields builds one event's fields from the map m whose header was
// just read. ok is false when the body is not well-formed; the map is
// consumed either way when ok.
func (b *builder) msgpackFields(r *mpReader, m mpValue) (fields []event.Field, code eventCode, ok bool) {
	switch {
	case m.n() == 0:
		return nil, codeEmpty, true
	case m.n() > event.MaxFieldsPerEvent:
		return nil, codeTooManyColumns, r.skip(m, 1)
	}
	b.begin(m.n())
	code = codeOK
	for i := 0; i < m.n(); i++ {
		k, ok := r.next()
		if !ok {
			b.fields = nil
			return nil, codeMalformed, false
		}
		v, ok := r.next()
		if !ok {
			b.fields = nil
			return nil, codeMalformed, false
		}
		if k.kind != mpStr && k.kind != mpBin {
			// Only string keys name columns.
			if !r.skip(k, 1) || !r.skip(v, 1) {
				b.fields = nil
				return nil, codeMalformed, false
			}
			continue
		}
		if v.kind == mpMap && b.expand > 0 {
			b.keybuf = append(b.keybuf[:0], k.raw...)
			if !b.expandMsgpack(r, v, 1) {
				b.fields = nil
				return nil, codeMalformed, false
			}
			continue
		}
		if !b.addMsgpack(r, k.raw, v) {
			b.fields = nil
			return nil, codeMalformed, false
		}
	}
	switch {
	case len(b.fields) == 0:
		b.fields = nil
		return nil, codeEmpty, true
	case len(b.fields) > event.MaxFieldsPerEvent:
		b.fields = nil
		return nil, codeTooManyColumns, true
	}
	return b.finish(), codeOK, true
}

// expandMsgpack adds the members of map m (whose header was just read), at
// nesting depth depth, as fields named b.keybuf + "." + member name,
// flattening nested maps while depth < b.expand; see expandJSON. Members
// whose key is not a string are skipped. It is false when the body is not
// well-formed.
func (b *builder) expandMsgpack(r *mpReader, m mpValue, depth int) bool {
	for i := 0; i < m.n(); i++ {
		k, ok := r.next()
		if !ok {
			return false
		}
		v, ok := r.next()
		if !ok {
			return false
		}
		if (k.kind != mpStr && k.kind != mpBin) || len(b.fields) > event.MaxFieldsPerEvent {
			if !r.skip(k, depth+1) || !r.skip(v, depth+1) {
				return false
			}
			continue
		}
		n := len(b.keybuf)
		b.keybuf = append(append(b.keybuf, '.'), k.raw...)
		if v.kind == mpMap && depth < b.expand {
			ok = b.expandMsgpack(r, v, depth+1)
		} else {
			ok = b.addMsgpack(r, b.keybuf, v)
		}
		b.keybuf = b.keybuf[:n]
		if !ok {
			return false
		}
	}
	return true
}

// addMsgpack adds one field whose value header v was just read, consuming
// the value's elements. It is false when the body is not well-formed.
func (b *builder) addMsgpack(r *mpReader, key []byte, v mpValue) bool {
	switch v.kind {
	case mpNil:
	case mpBool:
		b.add(key, event.Bool(v.b()))
	case mpInt:
		b.add(key, event.Int(v.i()))
	case mpUint:
		if v.u > math.MaxInt64 {
			b.add(key, event.Float(float64(v.u)))
		} else {
			b.add(key, event.Int(int64(v.u)))
		}
	case mpFloat:
		if !math.IsNaN(v.f()) && !math.IsInf(v.f(), 0) {
			b.add(key, event.Float(v.f()))
		}
	case mpStr, mpBin:
		b.add(key, b.str(v.raw))
	case mpExt:
		if v.ext == -1 {
			if t, ok := mpTime(v.raw); ok {
				b.scratch = t.AppendFormat(b.scratch[:0], time.RFC3339Nano)
				b.add(key, b.str(b.scratch))
			}
		}
	case mpArray, mpMap:
		var ok bool
		b.scratch, ok = appendMsgpackJSON(b.scratch[:0], r, v, 1)
		if !ok {
			return false
		}
		b.add(key, b.str(b.scratch))
	}
	return true
}

// appendMsgpackJSON appends the JSON text of v (whose header was just read)
// and consumes its elements.
func appendMsgpackJSON(dst []byte, r *mpReader, v mpValue, depth int) ([]byte, bool) {
	if depth > maxMsgpackDepth {
		return dst, false
	}
	switch v.kind {
	case mpNil:
		return append(dst, "null"...), true
	case mpBool:
		return strconv.AppendBool(dst, v.b()), true
	case mpInt:
		return strconv.AppendInt(dst, v.i(), 10), true
	case mpUint:
		return strconv.AppendUint(dst, v.u, 10), true
	case mpFloat:
		if math.IsNaN(v.f()) || math.IsInf(v.f(), 0) {
			return append(dst, "null"...), true
		}
		return strconv.AppendFloat(dst, v.f(), 'g', -1, 64), true
	case mpStr, mpBin:
		return appendJSONString(dst, v.raw), true
	case mpExt:
		if t, ok := mpTime(v.raw); v.ext == -1 && ok {
			dst = append(dst, '"')
			dst = t.AppendFormat(dst, time.RFC3339Nano)
			return append(dst, '"'), true
		}
		return append(dst, "null"...), true
	case mpArray:
		dst = append(dst, '[')
		for i := 0; i < v.n(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			e, ok := r.next()
			if !ok {
				return dst, false
			}
			if dst, ok = appendMsgpackJSON(dst, r, e, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case mpMap:
		dst = append(dst, '{')
		for i := 0; i < v.n(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			k, ok := r.next()
			if !ok {
				return dst, false
			}
			if k.kind == mpStr || k.kind == mpBin {
				dst = appendJSONString(dst, k.raw)
			} else {
				// JSON keys are strings: write a scalar key as the text of
				// its JSON form.
				var kb []byte
				if kb, ok = appendMsgpackJSON(nil, r, k, depth+1); !ok {
					return dst, false
				}
				dst = appendJSONString(dst, kb)
			}
			dst = append(dst, ':')
			e, ok := r.next()
			if !ok {
				return dst, false
			}
			if dst, ok = appendMsgpackJSON(dst, r, e, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	}
	return dst, false
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// msgpackTime reads a batch event's "time": a timestamp extension, a
// timestamp string or a numeric epoch.
func msgpackTime(v mpValue) (time.Time, bool) {
	switch v.kind {
	case mpExt:
		if v.ext == -1 {
			return mpTime(v.raw)
		}
	case mpStr, mpBin:
		return wire.ParseTime(string(v.raw))
	case mpInt:
		return wire.EpochInt(v.i()), true
	case mpUint:
		if v.u <= math.MaxInt64 {
			return wire.EpochInt(int64(v.u)), true
		}
	case mpFloat:
		return wire.EpochFloat(v.f())
	}
	return time.Time{}, false
}

// msgpackSampleRate reads a batch event's "samplerate"; anything unusable
// is 1.
func msgpackSampleRate(v mpValue) int64 {
	switch v.kind {
	case mpInt:
		return clampSampleRate(v.i())
	case mpUint:
		if v.u > math.MaxInt64 {
			return math.MaxInt64
		}
		return clampSampleRate(int64(v.u))
	case mpFloat:
		return sampleRateFromFloat(v.f())
	case mpStr:
		return parseSampleRate(string(v.raw))
	}
	return 1
}
