package otlp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/waggle-hq/waggle/internal/event"
)

// maxDepth is how deep nested kvlist attributes are flattened; deeper
// values are kept as JSON text (husky's maxDepth).
const maxDepth = 5

// maxJSONBytes caps attribute values rendered as JSON text (husky's
// fieldSizeMax, math.MaxUint16).
const maxJSONBytes = math.MaxUint16

// fieldSet builds one event's fields; a later set of a key replaces the
// earlier value, which is how precedence (item > scope > resource > derived)
// is applied: derived fields are set first, item attributes last.
type fieldSet struct {
	list []event.Field
	idx  map[string]int
}

func newFieldSet(n int) *fieldSet {
	return &fieldSet{list: make([]event.Field, 0, n), idx: make(map[string]int, n)}
}

// set sets key to v. Keys are made valid column names: invalid UTF-8 is
// replaced, long names are cut, empty names and null values are dropped.
func (f *fieldSet) set(key string, v event.Value) {
	key = cleanKey(key)
	if key == "" || v.IsNull() {
		return
	}
	if i, ok := f.idx[key]; ok {
		f.list[i].Value = v
		return
	}
	f.idx[key] = len(f.list)
	f.list = append(f.list, event.Field{Key: key, Value: v})
}

// setIfAbsent sets key only if the event has no such field yet.
func (f *fieldSet) setIfAbsent(key string, v event.Value) {
	if _, ok := f.idx[cleanKey(key)]; ok {
		return
	}
	f.set(key, v)
}

func (f *fieldSet) get(key string) (event.Value, bool) {
	if i, ok := f.idx[key]; ok {
		return f.list[i].Value, true
	}
	return event.Value{}, false
}

// remove deletes key, keeping the order of the others.
func (f *fieldSet) remove(key string) {
	i, ok := f.idx[key]
	if !ok {
		return
	}
	delete(f.idx, key)
	f.list = append(f.list[:i], f.list[i+1:]...)
	for j := i; j < len(f.list); j++ {
		f.idx[f.list[j].Key] = j
	}
}

// addAll sets every field of fs (precomputed resource or scope fields).
func (f *fieldSet) addAll(fs []event.Field) {
	for _, x := range fs {
		f.set(x.Key, x.Value)
	}
}

// fields returns the built fields; the set must not be used afterwards.
func (f *fieldSet) fields() []event.Field { return f.list }

// cleanKey makes key a usable column name.
func cleanKey(key string) string {
	if len(key) > event.MaxColumnName {
		key = cutUTF8(key, event.MaxColumnName)
	}
	if !utf8.ValidString(key) {
		key = strings.ToValidUTF8(key, "\uFFFD")
		if len(key) > event.MaxColumnName {
			key = cutUTF8(key, event.MaxColumnName)
		}
	}
	return key
}

// str returns a string value, valid UTF-8 and cut to event.MaxStringBytes.
func str(s string) event.Value {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > event.MaxStringBytes {
		s = cutUTF8(s, event.MaxStringBytes)
	}
	return event.String(s)
}

// float returns a float value; NaN and infinities are null (dropped), as no
// JSON can carry them back out.
func float(f float64) event.Value {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return event.Value{}
	}
	return event.Float(f)
}

// cutUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for k := 0; k < utf8.UTFMax && i > 0 && !utf8.RuneStart(s[i]); k++ {
		i--
	}
	return s[:i]
}

// addAttrs flattens a map of OTLP attributes into f (husky's
// addAttributeToMap): strings, booleans, integers and doubles keep their
// type; bytes and arrays become JSON text; kvlists are flattened with "."
// up to maxDepth levels, deeper values become JSON text.
func addAttrs(f *fieldSet, prefix string, m pcommon.Map, depth int) {
	m.Range(func(k string, v pcommon.Value) bool {
		if k == "" {
			return true
		}
		if prefix != "" {
			k = prefix + "." + k
		}
		addValue(f, k, v, depth)
		return true
	})
}

func addValue(f *fieldSet, key string, v pcommon.Value, depth int) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		f.set(key, str(v.Str()))
	case pcommon.ValueTypeBool:
		f.set(key, event.Bool(v.Bool()))
	case pcommon.ValueTypeInt:
		f.set(key, event.Int(v.Int()))
	case pcommon.ValueTypeDouble:
		f.set(key, float(v.Double()))
	case pcommon.ValueTypeBytes, pcommon.ValueTypeSlice:
		f.set(key, jsonValue(v))
	case pcommon.ValueTypeMap:
		if depth < maxDepth {
			addAttrs(f, key, v.Map(), depth+1)
		} else {
			f.set(key, jsonValue(v))
		}
	}
}

// jsonValue renders v as compact JSON text, cut to maxJSONBytes. Bytes are
// base64 in a JSON string, as Go's encoding/json writes []byte.
func jsonValue(v pcommon.Value) event.Value {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(marshallable(v)); err != nil {
		return event.Value{}
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	s := string(b)
	if len(s) > maxJSONBytes {
		s = cutUTF8(s, maxJSONBytes)
	}
	return str(s)
}

// marshallable is husky's getMarshallableValue: v as Go values
// encoding/json can write. Non-finite doubles become null.
func marshallable(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if math.IsNaN(d) || math.IsInf(d, 0) {
			return nil
		}
		return d
	case pcommon.ValueTypeBytes:
		return v.Bytes().AsRaw()
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]any, s.Len())
		for i := range s.Len() {
			out[i] = marshallable(s.At(i))
		}
		return out
	case pcommon.ValueTypeMap:
		out := make(map[string]any, v.Map().Len())
		v.Map().Range(func(k string, x pcommon.Value) bool {
			out[k] = marshallable(x)
			return true
		})
		return out
	}
	return nil
}

// resourceFields returns a resource's attributes as fields.
func resourceFields(attrs pcommon.Map, schemaURL string) []event.Field {
	f := newFieldSet(attrs.Len() + 1)
	addAttrs(f, "", attrs, 0)
	if schemaURL != "" {
		f.setIfAbsent("resource.schema_url", str(schemaURL))
	}
	return f.fields()
}

// instrumentationPrefixes are the scope-name prefixes of OpenTelemetry's own
// instrumentation libraries (husky's list).
var instrumentationPrefixes = []string{
	"io.opentelemetry",
	"opentelemetry.instrumentation",
	"OpenTelemetry.Instrumentation",
	"OpenTelemetry::Instrumentation",
	"go.opentelemetry.io/contrib/instrumentation",
	"@opentelemetry/instrumentation",
	"io.opentelemetry.contrib.php",
	"github.com/open-telemetry/opentelemetry-collector",
	"@honeycombio/",
}

// scopeFields returns an instrumentation scope as fields: library.name,
// library.version, telemetry.instrumentation_library, scope.schema_url and
// the scope's attributes.
func scopeFields(scope pcommon.InstrumentationScope, schemaURL string) []event.Field {
	f := newFieldSet(scope.Attributes().Len() + 4)
	if name := scope.Name(); name != "" {
		f.set("library.name", str(name))
		for _, p := range instrumentationPrefixes {
			if strings.HasPrefix(name, p) {
				f.set("telemetry.instrumentation_library", event.Bool(true))
				break
			}
		}
	}
	if v := scope.Version(); v != "" {
		f.set("library.version", str(v))
	}
	if schemaURL != "" {
		f.set("scope.schema_url", str(schemaURL))
	}
	addAttrs(f, "", scope.Attributes(), 0)
	return f.fields()
}

// traceIDString renders a trace id as husky does: lowercase hex, and a
// 16-byte id whose first 8 bytes are zero as its last 8 bytes (16 hex
// digits), so 64-bit ids from older tracers match.
func traceIDString(id pcommon.TraceID) string {
	b := [16]byte(id)
	if [8]byte(b[:8]) == ([8]byte{}) {
		return hex.EncodeToString(b[8:])
	}
	return hex.EncodeToString(b[:])
}

func spanIDString(id pcommon.SpanID) string {
	b := [8]byte(id)
	return hex.EncodeToString(b[:])
}

// datasetFor is husky's getDataset: the trimmed service.name, or
// "unknown_service" when it is missing, blank or starts with
// "unknown_service" (SDK defaults such as "unknown_service:python").
func serviceDataset(res []event.Field) (string, bool) {
	for _, x := range res {
		if x.Key != "service.name" || x.Value.Type() != event.TypeString {
			continue
		}
		s := strings.TrimSpace(x.Value.Str())
		if s == "" || strings.HasPrefix(s, "unknown_service") {
			return "", false
		}
		return s, true
	}
	return "", false
}

// usableDataset reports whether name can be a dataset.
func usableDataset(name string) bool {
	_, err := event.Slug(name)
	return err == nil
}
