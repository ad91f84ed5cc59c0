package honeycomb

import (
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/waggle-hq/waggle/internal/event"
)

// Decoding rules shared by the JSON and msgpack decoders (see also
// docs in events.go):
//
//   - a field whose value is null is dropped, so is a float that is NaN or
//     infinite (no JSON can carry it back out) and a msgpack extension other
//     than a timestamp;
//   - nested objects and arrays are kept as their compact JSON text in a
//     string field, as Honeycomb does unless a dataset sets
//     expand_json_depth d (1..10): then an object nested at most d levels
//     deep is flattened into one field per member, named by joining the
//     names with "." ({"a":{"b":1}} gives a.b = 1 at depth 1); deeper
//     objects and every array stay JSON text, an empty object adds nothing,
//     and the flattened event may have at most event.MaxFieldsPerEvent
//     fields;
//   - integers that fit in int64 stay exact integers; larger ones become
//     floats; every other number is a float;
//   - strings (and nested JSON text) longer than event.MaxStringBytes are cut
//     at a UTF-8 boundary; invalid UTF-8 is replaced with U+FFFD;
//   - field names longer than event.MaxColumnName bytes are cut; an empty
//     field name drops the field; when a name repeats in one event the last
//     non-null value wins;
//   - an event with more than event.MaxFieldsPerEvent fields in its data is
//     rejected as "Event has too many columns."; one with no fields left is
//     rejected as "Request body should not be empty.".

// eventCode is the outcome of decoding one event.
type eventCode uint8

const (
	codeOK eventCode = iota
	codeEmpty
	codeTooManyColumns
	codeMalformed
)

// Honeycomb's error messages, shared by per-event statuses and whole-request
// errors.
const (
	msgEmpty          = "Request body should not be empty."
	msgMalformed      = "Request body is malformed and cannot be read."
	msgTooLarge       = "Request body is too large."
	msgTooManyColumns = "Event has too many columns."
	msgDatasetColumns = "Dataset has too many columns."
	msgNotFound       = "dataset not found"
	msgRateLimited    = "Request dropped due to rate limiting."
	msgUnavailable    = "Service temporarily unavailable; please retry."
)

func (c eventCode) message() string {
	switch c {
	case codeEmpty:
		return msgEmpty
	case codeTooManyColumns:
		return msgTooManyColumns
	case codeMalformed:
		return msgMalformed
	}
	return ""
}

// decodeOptions are the request-level inputs of a decode.
type decodeOptions struct {
	// Dataset is the dataset name from the path, as written.
	Dataset string
	// Now is when the request arrived: the time of events without one.
	Now time.Time
	// Time and SampleRate apply to a single event (from the
	// X-Honeycomb-Event-Time and X-Honeycomb-Samplerate headers); zero
	// values mean Now and 1.
	Time       time.Time
	SampleRate int64
	// ExpandDepth is the dataset's expand_json_depth: nested objects up to
	// this depth become fields of their own.
	ExpandDepth int
}

// decodedBatch is a decoded batch body.
type decodedBatch struct {
	// Events are the accepted events, in input order.
	Events []event.Event
	// Codes has one outcome per input event, in input order.
	Codes []eventCode
}

// builder turns decoded keys and values into event.Fields with few
// allocations: field names are interned (a batch of 5,000 events with the
// same 30 keys allocates 30 names, and the table is reused across requests),
// string values are copied into a per-request arena, and the fields of many
// events share large backing arrays.
type builder struct {
	keys keyTable

	arena  arena
	chunk  []event.Field
	fields []event.Field // the event being built, a window on chunk

	seq     uint32 // stamp of the event being built
	nth     int    // fields offered to the event being built so far
	expect  int    // events still to come after this one, a sizing hint
	scratch []byte

	// expand is the request's expand_json_depth; keybuf holds the name of
	// a flattened field being built.
	expand int
	keybuf []byte
}

var builderPool = sync.Pool{New: func() any { return &builder{keys: newKeyTable()} }}

// getBuilder returns a builder ready for a new request.
func getBuilder() *builder {
	b := builderPool.Get().(*builder)
	b.keys.maybeReset()
	return b
}

// put returns b to the pool. Events built by b stay valid: nothing they
// reference is reused.
func (b *builder) put() {
	b.arena = arena{}
	b.chunk = nil
	b.fields = nil
	b.expect = 0
	b.expand = 0
	if cap(b.scratch) > 1<<20 {
		b.scratch = nil
	}
	builderPool.Put(b)
}

// chunkFields is the smallest backing array of fields allocated at once.
const chunkFields = 4096

// reserveFields makes room for n more fields in the current chunk, so that
// the next events up to n fields in total share one allocation. exact says
// n is known to be all that is needed (no minimum chunk size).
func (b *builder) reserveFields(n int, exact bool) {
	if cap(b.chunk)-len(b.chunk) < n {
		if !exact {
			n = max(n, chunkFields)
		}
		b.chunk = make([]event.Field, 0, n)
	}
}

// sizeArena sizes the string arena's blocks for a body of n bytes, so small
// requests do not allocate a full block.
func (b *builder) sizeArena(n int) {
	b.arena.block = min(max(n, 512), arenaBlock)
}

// maxChunkFields caps a chunk sized from the expected events.
const maxChunkFields = 1 << 16

// begin starts an event of at most n fields.
func (b *builder) begin(n int) {
	if cap(b.chunk)-len(b.chunk) < n && b.expect > 0 {
		// Guess the events to come look like this one.
		b.reserveFields(max(n, min(n*(b.expect+1), maxChunkFields)), true)
	}
	b.reserveFields(n, false)
	b.fields = b.chunk[len(b.chunk):len(b.chunk)]
	b.nth = 0
	b.seq++
	if b.seq == 0 {
		clear(b.keys.stamp)
		b.seq = 1
	}
}

// finish ends the event and returns its fields, capped so that appending to
// them never writes into another event's fields.
func (b *builder) finish() []event.Field {
	fs := b.fields
	b.fields = nil
	if len(fs) > cap(b.chunk)-len(b.chunk) {
		// Flattened objects outgrew the room reserved: the fields were
		// moved to an array of their own.
		return fs[:len(fs):len(fs)]
	}
	b.chunk = b.chunk[:len(b.chunk)+len(fs)]
	b.fields = nil
	return fs[:len(fs):len(fs)]
}

// add adds a field to the event being built; key is the raw name. The last
// value of a repeated name wins. A null value is ignored.
func (b *builder) add(key []byte, v event.Value) {
	if v.IsNull() {
		return
	}
	k := &b.keys
	// Events of a batch mostly repeat the previous event's names in the same
	// order: try the name seen at this position last time before hashing.
	nth := b.nth
	b.nth++
	var id int32 = -1
	if nth < len(k.predict) {
		if p := k.predict[nth]; p >= 0 && k.names[p] == string(key) {
			id = p
		}
	}
	if id < 0 {
		id = k.intern(key)
		if id < 0 {
			return
		}
		if nth < len(k.predict) {
			k.predict[nth] = id
		} else if nth == len(k.predict) && nth < event.MaxFieldsPerEvent {
			k.predict = append(k.predict, id)
		}
	}
	if k.stamp[id] == b.seq {
		b.fields[k.pos[id]].Value = v
		return
	}
	k.stamp[id] = b.seq
	k.pos[id] = int32(len(b.fields))
	b.fields = append(b.fields, event.Field{Key: k.names[id], Value: v})
}

// str returns p as a string value, cut to event.MaxStringBytes and made valid
// UTF-8, copied into the request's arena.
func (b *builder) str(p []byte) event.Value {
	if len(p) > event.MaxStringBytes {
		p = cutUTF8(p, event.MaxStringBytes)
	}
	if !utf8.Valid(p) {
		s := strings.ToValidUTF8(string(p), "\uFFFD")
		if len(s) > event.MaxStringBytes {
			s = string(cutUTF8([]byte(s), event.MaxStringBytes))
		}
		return event.String(s)
	}
	return event.String(b.arena.str(p))
}

// cutUTF8 cuts p to at most n bytes without splitting a UTF-8 sequence.
func cutUTF8(p []byte, n int) []byte {
	if len(p) <= n {
		return p
	}
	i := n
	for k := 0; k < utf8.UTFMax && i > 0 && !utf8.RuneStart(p[i]); k++ {
		i--
	}
	return p[:i]
}

// keyTable interns field names and tracks, per name, whether and where the
// event being built already has it.
type keyTable struct {
	ids   map[string]int32
	names []string
	stamp []uint32
	pos   []int32
	// predict[i] is the id of the i-th name of the previous event.
	predict []int32
}

// maxKeys bounds a pooled key table; beyond it the table starts afresh at
// the next request, so that clients sending ever new names cannot grow it
// without bound.
const maxKeys = 1 << 14

func newKeyTable() keyTable {
	return keyTable{ids: make(map[string]int32, 64)}
}

func (k *keyTable) maybeReset() {
	if len(k.names) > maxKeys {
		*k = newKeyTable()
	}
}

// intern returns the id of the field name raw, or -1 for a name that cannot
// be used (empty).
func (k *keyTable) intern(raw []byte) int32 {
	if id, ok := k.ids[string(raw)]; ok {
		return id
	}
	if len(raw) == 0 {
		return -1
	}
	name := string(cutUTF8(raw, event.MaxColumnName))
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "\uFFFD")
	}
	if name == "" {
		return -1
	}
	id, ok := k.ids[name]
	if !ok {
		id = int32(len(k.names))
		k.names = append(k.names, name)
		k.stamp = append(k.stamp, 0)
		k.pos = append(k.pos, 0)
		k.ids[name] = id
	}
	if string(raw) != name {
		k.ids[string(raw)] = id
	}
	return id
}

// arena hands out strings copied into large shared blocks, so a request's
// many small strings cost a few allocations. A string keeps its whole block
// alive; blocks are never reused, so strings stay valid for good.
type arena struct {
	buf   []byte
	block int // size of new blocks; 0 means arenaBlock
}

const (
	arenaBlock = 64 << 10
	// arenaDirect is the size from which strings get their own allocation.
	arenaDirect = 4 << 10
)

func (a *arena) str(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if len(p) >= arenaDirect {
		return string(p)
	}
	if cap(a.buf)-len(a.buf) < len(p) {
		size := a.block
		if size == 0 {
			size = arenaBlock
		}
		a.buf = make([]byte, 0, max(size, len(p)))
	}
	start := len(a.buf)
	a.buf = append(a.buf, p...)
	return unsafe.String(&a.buf[start], len(p))
}

// b2s views p as a string without copying; the string must not outlive p
// nor be kept.
func b2s(p []byte) string {
	return unsafe.String(unsafe.SliceData(p), len(p))
}
