package xray

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/waggle-hq/waggle/internal/event"
)

// MaxDocument is the largest segment document accepted (X-Ray's 64 kB
// limit, with room for the daemon header, which is what a UDP datagram can
// carry).
const MaxDocument = 64 * 1024

// maxNesting bounds subsegment nesting (X-Ray documents are shallow; a
// hostile one must not recurse without end).
const maxNesting = 64

// Errors of parsing; the daemon counts them by kind.
var (
	ErrHeader   = errors.New("invalid daemon header")
	ErrNoBody   = errors.New("missing header or segment")
	ErrTooLarge = errors.New("segment document over 64 kB")
	ErrJSON     = errors.New("segment document is not a JSON object")
)

// InvalidError is a document that parsed but breaks X-Ray's rules; Code is
// the ErrorCode PutTraceSegments reports (MissingId, InvalidTraceId, …).
type InvalidError struct {
	Code string
	ID   string
	Msg  string
}

func (e *InvalidError) Error() string { return "Invalid segment. ErrorCode: " + e.Code + ": " + e.Msg }

func invalid(code, id, format string, args ...any) *InvalidError {
	return &InvalidError{Code: code, ID: id, Msg: fmt.Sprintf(format, args...)}
}

// SplitDatagram splits a daemon datagram at its first newline and checks the
// header as the daemon does: a JSON object whose "format" is "json" (any
// case) and whose "version" is 1; spacing and key order do not matter, so
// both the Python SDK's `{"format":"json","version":1}` and the Go SDK's
// `{"format": "json", "version": 1}` pass.
func SplitDatagram(b []byte) ([]byte, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, ErrNoBody
	}
	head, body := b[:i], b[i+1:]
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, ErrNoBody
	}
	var h struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(head, &h); err != nil || !strings.EqualFold(h.Format, "json") || h.Version != 1 {
		return nil, ErrHeader
	}
	return body, nil
}

// Segment is a parsed segment or subsegment document. Objects the event
// model keeps as columns (aws, sql, service, annotations, metadata, cause)
// are already flattened into fields.
type Segment struct {
	// TraceID is the X-Ray trace id (1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx);
	// embedded subsegments inherit it.
	TraceID    string
	ID         string
	ParentID   string
	Name       string
	Type       string // "subsegment" for subsegments (embedded ones too), else ""
	Namespace  string
	Origin     string
	User       string
	Start, End float64
	InProgress bool
	Error      bool
	Fault      bool
	Throttle   bool
	Inferred   bool

	HTTPMethod, HTTPURL, HTTPUserAgent, HTTPClientIP string
	HTTPXForwardedFor, HTTPTraced                    bool
	HTTPStatus, HTTPContentLength                    int64
	HasStatus, HasContentLength                      bool

	// Fields holds aws.*, sql.*, service.*, annotation.*, metadata.*,
	// exception.* and xray.* columns.
	Fields []event.Field

	Subsegments []*Segment
	// Independent is true for a subsegment sent as its own document
	// (streamed): it joins its trace through ParentID.
	Independent bool
}

// IsSubsegment reports whether s is a subsegment.
func (s *Segment) IsSubsegment() bool { return s.Type == "subsegment" }

// Count returns the number of entities (s and its subsegments).
func (s *Segment) Count() int {
	n := 1
	for _, c := range s.Subsegments {
		n += c.Count()
	}
	return n
}

// Parser parses segment documents; reuse one per goroutine.
type Parser struct{ p fastjson.Parser }

// Parse parses one document (a segment or an independent subsegment).
func (p *Parser) Parse(doc []byte) (*Segment, error) {
	if len(doc) > MaxDocument {
		return nil, ErrTooLarge
	}
	v, err := p.p.ParseBytes(doc)
	if err != nil || v.Type() != fastjson.TypeObject {
		return nil, ErrJSON
	}
	s, ierr := parseEntity(v, nil, 0)
	if ierr != nil {
		return nil, ierr
	}
	if s.IsSubsegment() {
		s.Independent = true
		if s.ParentID == "" {
			return nil, invalid("MissingParentId", s.ID, "an independent subsegment needs parent_id")
		}
	}
	return s, nil
}

// ParseSegment parses one document with a throwaway parser.
func ParseSegment(doc []byte) (*Segment, error) {
	var p Parser
	return p.Parse(doc)
}

func getString(v *fastjson.Value, key string) string {
	x := v.Get(key)
	if x == nil {
		return ""
	}
	switch x.Type() {
	case fastjson.TypeString:
		b, _ := x.StringBytes()
		return cleanString(string(b))
	case fastjson.TypeNumber:
		return x.String()
	}
	return ""
}

func getBool(v *fastjson.Value, key string) bool {
	x := v.Get(key)
	if x == nil {
		return false
	}
	switch x.Type() {
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeString:
		b, _ := x.StringBytes()
		return strings.EqualFold(string(b), "true")
	}
	return false
}

func getNumber(v *fastjson.Value, key string) (float64, bool) {
	x := v.Get(key)
	if x == nil {
		return 0, false
	}
	switch x.Type() {
	case fastjson.TypeNumber:
		f, err := x.Float64()
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	case fastjson.TypeString:
		b, _ := x.StringBytes()
		f, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// cleanString makes s valid UTF-8 no longer than event.MaxStringBytes.
func cleanString(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > event.MaxStringBytes {
		s = s[:event.MaxStringBytes]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// ValidID reports whether s is a 16-digit hexadecimal entity id.
func ValidID(s string) bool { return len(s) == 16 && isHex(s) }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// ValidTraceID reports whether s is an X-Ray trace id:
// 1-<8 hex digits>-<24 hex digits>.
func ValidTraceID(s string) bool {
	return len(s) == 35 && s[0] == '1' && s[1] == '-' && s[10] == '-' && isHex(s[2:10]) && isHex(s[11:])
}

// ToW3C converts an X-Ray trace id to the 32-digit lower-case W3C id every
// span of waggle's trace model carries. ok is false for a malformed id.
func ToW3C(id string) (string, bool) {
	if !ValidTraceID(id) {
		return "", false
	}
	return strings.ToLower(id[2:10] + id[11:]), true
}

// FromW3C converts a 32-digit W3C trace id to X-Ray's form.
func FromW3C(id string) string {
	if len(id) != 32 {
		// 64-bit ids (16 digits) are zero-extended, as OTLP stores them short.
		if len(id) < 32 {
			id = strings.Repeat("0", 32-len(id)) + id
		} else {
			id = id[:32]
		}
	}
	return "1-" + id[:8] + "-" + id[8:]
}

// parseEntity parses a segment or subsegment object. parent is the
// enclosing entity for embedded subsegments.
func parseEntity(v *fastjson.Value, parent *Segment, depth int) (*Segment, *InvalidError) {
	if depth > maxNesting {
		return nil, invalid("InvalidSegment", "", "subsegments nested deeper than %d", maxNesting)
	}
	s := &Segment{
		TraceID:   getString(v, "trace_id"),
		ID:        getString(v, "id"),
		ParentID:  getString(v, "parent_id"),
		Name:      getString(v, "name"),
		Type:      getString(v, "type"),
		Namespace: getString(v, "namespace"),
		Origin:    getString(v, "origin"),
		User:      getString(v, "user"),
		Error:     getBool(v, "error"),
		Fault:     getBool(v, "fault"),
		Throttle:  getBool(v, "throttle"),
		Inferred:  getBool(v, "inferred"),
	}
	if parent != nil {
		// Embedded: the Go SDK leaves out type, the Python SDK sends it.
		s.Type = "subsegment"
		if s.TraceID == "" {
			s.TraceID = parent.TraceID
		}
		if s.ParentID == "" {
			s.ParentID = parent.ID
		}
	} else if s.Type != "subsegment" {
		s.Type = ""
	}
	if s.ID == "" {
		return nil, invalid("MissingId", "", "segment has no id")
	}
	if !ValidID(s.ID) {
		return nil, invalid("InvalidId", s.ID, "id must be 16 hexadecimal digits")
	}
	s.ID = strings.ToLower(s.ID)
	if s.ParentID != "" {
		if !ValidID(s.ParentID) {
			return nil, invalid("InvalidParentId", s.ID, "parent_id must be 16 hexadecimal digits")
		}
		s.ParentID = strings.ToLower(s.ParentID)
	}
	if s.Name == "" {
		return nil, invalid("MissingName", s.ID, "segment has no name")
	}
	if len(s.Name) > 250 {
		s.Name = s.Name[:250]
		for !utf8.ValidString(s.Name) {
			s.Name = s.Name[:len(s.Name)-1]
		}
	}
	if s.TraceID == "" {
		return nil, invalid("MissingTraceId", s.ID, "segment has no trace_id")
	}
	if !ValidTraceID(s.TraceID) {
		return nil, invalid("InvalidTraceId", s.ID, "trace_id must look like 1-5759e988-bd862e3fe1be46a994272793")
	}
	var ok bool
	if s.Start, ok = getNumber(v, "start_time"); !ok || s.Start <= 0 {
		return nil, invalid("MissingStartTime", s.ID, "segment has no start_time")
	}
	s.InProgress = getBool(v, "in_progress")
	if s.End, ok = getNumber(v, "end_time"); ok {
		// A closed entity: Python sends "in_progress": false with end_time.
		s.InProgress = false
	} else if !s.InProgress {
		return nil, invalid("MissingEndTime", s.ID, "segment needs end_time or in_progress")
	}
	if h := v.Get("http"); h != nil && h.Type() == fastjson.TypeObject {
		if rq := h.Get("request"); rq != nil && rq.Type() == fastjson.TypeObject {
			s.HTTPMethod = getString(rq, "method")
			s.HTTPURL = getString(rq, "url")
			s.HTTPUserAgent = getString(rq, "user_agent")
			s.HTTPClientIP = getString(rq, "client_ip")
			s.HTTPXForwardedFor = getBool(rq, "x_forwarded_for")
			s.HTTPTraced = getBool(rq, "traced")
		}
		if rs := h.Get("response"); rs != nil && rs.Type() == fastjson.TypeObject {
			if f, ok := getNumber(rs, "status"); ok {
				s.HTTPStatus, s.HasStatus = int64(f), true
			}
			if f, ok := getNumber(rs, "content_length"); ok {
				s.HTTPContentLength, s.HasContentLength = int64(f), true
			}
		}
	}
	f := s.Fields[:0]
	if x := v.Get("aws"); x != nil && x.Type() == fastjson.TypeObject {
		f = flatten(f, "aws", x, 0)
	}
	if x := v.Get("sql"); x != nil && x.Type() == fastjson.TypeObject {
		f = flatten(f, "sql", x, 0)
	}
	if x := v.Get("service"); x != nil && x.Type() == fastjson.TypeObject {
		x.GetObject().Visit(func(k []byte, val *fastjson.Value) {
			f = appendScalar(f, "service."+string(k), val)
		})
	}
	if x := v.Get("annotations"); x != nil && x.Type() == fastjson.TypeObject {
		x.GetObject().Visit(func(k []byte, val *fastjson.Value) {
			switch val.Type() {
			case fastjson.TypeString, fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
				f = appendScalar(f, "annotation."+string(k), val)
			}
		})
	}
	if x := v.Get("metadata"); x != nil && x.Type() == fastjson.TypeObject {
		x.GetObject().Visit(func(k []byte, val *fastjson.Value) {
			f = append(f, event.Field{Key: fieldKey("metadata." + string(k)), Value: event.String(cleanString(string(val.MarshalTo(nil))))})
		})
	}
	if x := v.Get("cause"); x != nil {
		f = appendCause(f, x)
	}
	if x := v.Get("resource_arn"); x != nil && x.Type() == fastjson.TypeString {
		f = append(f, event.Field{Key: "xray.resource_arn", Value: event.String(getString(v, "resource_arn"))})
	}
	if x := v.Get("precursor_ids"); x != nil && x.Type() == fastjson.TypeArray {
		f = append(f, event.Field{Key: "xray.precursor_ids", Value: event.String(cleanString(string(x.MarshalTo(nil))))})
	}
	s.Fields = f
	if subs := v.Get("subsegments"); subs != nil && subs.Type() == fastjson.TypeArray {
		arr, _ := subs.Array()
		for _, sv := range arr {
			if sv.Type() != fastjson.TypeObject {
				return nil, invalid("InvalidSubsegment", s.ID, "subsegments must be objects")
			}
			c, err := parseEntity(sv, s, depth+1)
			if err != nil {
				return nil, err
			}
			s.Subsegments = append(s.Subsegments, c)
		}
	}
	return s, nil
}

// fieldKey makes k a valid column name.
func fieldKey(k string) string {
	if !utf8.ValidString(k) {
		k = strings.ToValidUTF8(k, "_")
	}
	if len(k) > event.MaxColumnName {
		k = k[:event.MaxColumnName]
		for !utf8.ValidString(k) {
			k = k[:len(k)-1]
		}
	}
	return k
}

// appendScalar appends a JSON scalar as a typed field; arrays and objects
// become JSON text, null is left out.
func appendScalar(f []event.Field, key string, v *fastjson.Value) []event.Field {
	var val event.Value
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		val = event.String(cleanString(string(b)))
	case fastjson.TypeNumber:
		if i, err := v.Int64(); err == nil {
			val = event.Int(i)
		} else if fl, err := v.Float64(); err == nil && !math.IsNaN(fl) && !math.IsInf(fl, 0) {
			val = event.Float(fl)
		} else {
			return f
		}
	case fastjson.TypeTrue:
		val = event.Bool(true)
	case fastjson.TypeFalse:
		val = event.Bool(false)
	case fastjson.TypeArray, fastjson.TypeObject:
		val = event.String(cleanString(string(v.MarshalTo(nil))))
	default:
		return f
	}
	return append(f, event.Field{Key: fieldKey(key), Value: val})
}

// flatten appends an object's members as prefix.key columns, nested objects
// with dots up to 4 levels; arrays and deeper objects as JSON text.
func flatten(f []event.Field, prefix string, v *fastjson.Value, depth int) []event.Field {
	v.GetObject().Visit(func(k []byte, val *fastjson.Value) {
		key := prefix + "." + string(k)
		if val.Type() == fastjson.TypeObject && depth < 3 {
			f = flatten(f, key, val, depth+1)
			return
		}
		f = appendScalar(f, key, val)
	})
	return f
}

// appendCause lifts the first exception onto exception.type,
// exception.message and exception.stacktrace (as OTLP lifts an "exception"
// span event) and keeps the whole cause as JSON text in xray.cause, or the
// referenced exception id in xray.cause_id.
func appendCause(f []event.Field, c *fastjson.Value) []event.Field {
	switch c.Type() {
	case fastjson.TypeString:
		b, _ := c.StringBytes()
		return append(f, event.Field{Key: "xray.cause_id", Value: event.String(cleanString(string(b)))})
	case fastjson.TypeObject:
	default:
		return f
	}
	f = append(f, event.Field{Key: "xray.cause", Value: event.String(cleanString(string(c.MarshalTo(nil))))})
	exs := c.GetArray("exceptions")
	if len(exs) == 0 || exs[0].Type() != fastjson.TypeObject {
		return f
	}
	ex := exs[0]
	if t := getString(ex, "type"); t != "" {
		f = append(f, event.Field{Key: "exception.type", Value: event.String(t)})
	}
	if m := getString(ex, "message"); m != "" {
		f = append(f, event.Field{Key: "exception.message", Value: event.String(m)})
	}
	if st := ex.GetArray("stack"); len(st) > 0 {
		var b strings.Builder
		if t := getString(ex, "type"); t != "" {
			b.WriteString(t)
			if m := getString(ex, "message"); m != "" {
				b.WriteString(": " + m)
			}
			b.WriteByte('\n')
		}
		for _, fr := range st {
			if fr.Type() != fastjson.TypeObject {
				continue
			}
			line, _ := getNumber(fr, "line")
			fmt.Fprintf(&b, "\tat %s (%s:%d)\n", getString(fr, "label"), getString(fr, "path"), int64(line))
		}
		f = append(f, event.Field{Key: "exception.stacktrace", Value: event.String(cleanString(b.String()))})
	}
	if getBool(ex, "remote") {
		f = append(f, event.Field{Key: "exception.remote", Value: event.Bool(true)})
	}
	return f
}
