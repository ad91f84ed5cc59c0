package cloudwatchlogs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
	"github.com/waggle-hq/waggle/internal/event"
)

// Fields every log line's event carries. The names are Logs Insights' own,
// so the same names work in Insights queries, in FilterLogEvents' JSON
// patterns' pushdown and in the Honeycomb query API.
const (
	FieldMessage       = "@message"       // the line as sent
	FieldLogStream     = "@logStream"     // the stream's name
	FieldTimestamp     = "@timestamp"     // event time, epoch ms (also the event's time)
	FieldIngestionTime = "@ingestionTime" // when waggle accepted it, epoch ms
	FieldEventID       = "@eventId"       // stable, unique, sorts like (timestamp, ingestion, index)
	FieldSignalType    = "meta.signal_type"
	FieldTraceID       = "trace.trace_id"
)

// SignalType is meta.signal_type's value on log lines.
const SignalType = "log"

// maxJSONFields bounds the fields flattened out of one JSON message (Logs
// Insights extracts at most 100 per event; more are allowed here).
const maxJSONFields = 200

// reserved are field names a JSON message cannot set: its own keys of these
// names are dropped (they stay in @message).
var reserved = map[string]bool{
	FieldMessage: true, FieldLogStream: true, FieldTimestamp: true, FieldIngestionTime: true,
	FieldEventID: true, FieldSignalType: true, FieldTraceID: true, "@log": true, "@ptr": true,
}

// Event ids are 42 decimal digits: the event's timestamp in ms (16 digits),
// the id of the PutLogEvents batch that carried it (20 digits: a process-wide
// counter that starts at the clock in ns and never goes back), and the
// event's index in the batch (6 digits). String order is therefore the order
// AWS documents for FilterLogEvents (timestamp, then ingestion, then
// request), and an id is a cursor for paging.
const (
	eventIDLen = 42
	tsDigits   = 16
)

func eventID(tsMs int64, batch int64, index int) string {
	var b [eventIDLen]byte
	putDigits(b[0:16], uint64(tsMs))
	putDigits(b[16:36], uint64(batch))
	putDigits(b[36:42], uint64(index))
	return string(b[:])
}

func putDigits(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// idTime returns the timestamp (ms) an event id or cursor starts with.
func idTime(id string) int64 {
	if len(id) < tsDigits {
		return 0
	}
	n, _ := strconv.ParseInt(id[:tsDigits], 10, 64)
	return n
}

// minCursor and maxCursor are the smallest and largest cursors of a
// timestamp: every event at ts sorts between them.
func minCursor(tsMs int64) string {
	var b [eventIDLen]byte
	putDigits(b[0:16], uint64(tsMs))
	for i := 16; i < eventIDLen; i++ {
		b[i] = '0'
	}
	return string(b[:])
}

func maxCursor(tsMs int64) string {
	var b [eventIDLen]byte
	putDigits(b[0:16], uint64(tsMs))
	for i := 16; i < eventIDLen; i++ {
		b[i] = '9'
	}
	return string(b[:])
}

func validCursor(s string) bool {
	if len(s) != eventIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DatasetName derives the dataset a log group's events go to: leading '/'
// dropped, then the Honeycomb slug rule (lower case; every character other
// than a-z, 0-9, '-', '_' and '.' becomes '-'), so "cruddur" stays
// "cruddur" and "/aws/lambda/My_fn" becomes "aws-lambda-my_fn". Names longer
// than 200 characters keep 200 and a hash suffix. When two groups of an
// environment would share a dataset, the later one gets "-2", "-3", … (see
// createLogGroup).
func DatasetName(group string) string {
	name := strings.TrimLeft(group, "/")
	if name == "" {
		name = "log-group"
	}
	slug, err := event.Slug(name)
	if err != nil || len(slug) > 200 {
		sum := sha256.Sum256([]byte(group))
		base := name
		if len(base) > 200 {
			base = base[:200]
		}
		if s, err := event.Slug(base); err == nil {
			slug = s
		}
		slug = slug + "-" + hex.EncodeToString(sum[:4])
	}
	return slug
}

// lineEvent builds the event of one log line.
func lineEvent(dataset, streamName, message string, tsMs, ingestMs int64, id string, p *fastjson.Parser) event.Event {
	fields := make([]event.Field, 0, 8)
	fields = append(fields,
		event.Field{Key: FieldMessage, Value: event.String(message)},
		event.Field{Key: FieldLogStream, Value: event.String(streamName)},
		event.Field{Key: FieldTimestamp, Value: event.Int(tsMs)},
		event.Field{Key: FieldIngestionTime, Value: event.Int(ingestMs)},
		event.Field{Key: FieldEventID, Value: event.String(id)},
		event.Field{Key: FieldSignalType, Value: event.String(SignalType)},
	)
	traceID := ""
	if m := strings.TrimSpace(message); len(m) > 1 && m[0] == '{' {
		if v, err := p.Parse(m); err == nil && v.Type() == fastjson.TypeObject {
			fl := flattener{fields: fields}
			fl.object(v.GetObject(), "", 0)
			fields = fl.fields
			traceID = fl.traceID
		}
	}
	if traceID == "" {
		traceID = findTraceID(message)
	}
	if traceID != "" {
		fields = append(fields, event.Field{Key: FieldTraceID, Value: event.String(traceID)})
	}
	return event.Event{
		Time:       time.UnixMilli(tsMs).UTC(),
		Dataset:    dataset,
		SampleRate: 1,
		Fields:     fields,
	}
}

type flattener struct {
	fields  []event.Field
	n       int
	traceID string
	seen    map[string]bool
}

func (f *flattener) add(key string, v event.Value) {
	if f.n >= maxJSONFields || reserved[key] || key == "" {
		return
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if f.seen[key] {
		return
	}
	f.seen[key] = true
	f.n++
	f.fields = append(f.fields, event.Field{Key: key, Value: v})
}

func (f *flattener) object(o *fastjson.Object, prefix string, depth int) {
	o.Visit(func(k []byte, v *fastjson.Value) {
		key := prefix + string(k)
		switch v.Type() {
		case fastjson.TypeObject:
			if depth < 8 {
				f.object(v.GetObject(), key+".", depth+1)
			} else {
				f.add(key, event.String(string(v.MarshalTo(nil))))
			}
		case fastjson.TypeArray:
			f.add(key, event.String(string(v.MarshalTo(nil))))
		case fastjson.TypeString:
			s := string(v.GetStringBytes())
			if f.traceID == "" && traceKey(key) {
				f.traceID = normalizeTraceID(s)
			}
			f.add(key, event.String(s))
		case fastjson.TypeNumber:
			f.add(key, numberValue(v))
		case fastjson.TypeTrue:
			f.add(key, event.Bool(true))
		case fastjson.TypeFalse:
			f.add(key, event.Bool(false))
		}
	})
}

func numberValue(v *fastjson.Value) event.Value {
	raw := v.MarshalTo(nil)
	if !strings.ContainsAny(string(raw), ".eE") {
		if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return event.Int(i)
		}
	}
	fl, _ := v.Float64()
	return event.Float(fl)
}

// traceKey reports JSON keys that carry a trace id.
func traceKey(k string) bool {
	switch k {
	case "trace_id", "traceId", "traceID", "trace.trace_id", "trace.id", "otelTraceID", "TraceId", "xray_trace_id", "AWS-XRAY-TRACE-ID":
		return true
	}
	return false
}

// normalizeTraceID returns a trace id in W3C form (32 lower-case hex), from
// W3C/OTel hex, an X-Ray id (1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy) or a
// traceparent; "" when s is none of those.
func normalizeTraceID(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case len(s) == 32 && isHex(s):
		if strings.Trim(s, "0") == "" {
			return ""
		}
		return strings.ToLower(s)
	case len(s) == 35 && s[0] == '1' && s[1] == '-' && s[10] == '-' && isHex(s[2:10]) && isHex(s[11:]):
		return strings.ToLower(s[2:10] + s[11:])
	case strings.HasPrefix(s, "Root="):
		return findTraceID(s)
	case len(s) == 55 && s[2] == '-' && s[35] == '-':
		return normalizeTraceID(s[3:35])
	}
	return ""
}

// findTraceID looks for an X-Ray trace id ("1-5f84c3a1-…", as in
// "Root=1-…") or a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>")
// anywhere in a line.
func findTraceID(line string) string {
	for i := 0; i+35 <= len(line); {
		j := strings.Index(line[i:], "-")
		if j < 0 {
			break
		}
		j += i
		// X-Ray: "1-" + 8 hex + "-" + 24 hex, not inside a longer token.
		if j >= 1 && line[j-1] == '1' && (j < 2 || !isAlnum(line[j-2])) && j+34 <= len(line) &&
			line[j+9] == '-' && isHex(line[j+1:j+9]) && isHex(line[j+10:j+34]) && (j+34 == len(line) || !isAlnum(line[j+34])) {
			return strings.ToLower(line[j+1:j+9] + line[j+10:j+34])
		}
		// traceparent: "00-" + 32 hex + "-" + 16 hex + "-" + 2 hex.
		if j >= 2 && line[j-2:j] == "00" && (j < 3 || !isAlnum(line[j-3])) && j+53 <= len(line) &&
			line[j+33] == '-' && line[j+50] == '-' && isHex(line[j+1:j+33]) && isHex(line[j+34:j+50]) && isHex(line[j+51:j+53]) {
			if id := normalizeTraceID(line[j+1 : j+33]); id != "" {
				return id
			}
		}
		i = j + 1
	}
	return ""
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// sequenceToken renders a nextSequenceToken: 56 digits, as AWS's look.
func sequenceToken(batch int64) string { return fmt.Sprintf("%056d", batch) }
