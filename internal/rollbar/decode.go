package rollbar

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Limits of what one item may hold. Larger inputs are not rejected but cut:
// extra chain elements and frames are ignored for grouping and stored as
// sent only as far as the stored payload's size allows.
const (
	// maxChain is the most trace_chain elements looked at.
	maxChain = 64
	// maxFrames is the most frames per trace used for grouping.
	maxFrames = 1024
	// maxField is the longest string kept in a derived field (title,
	// exception message, URL, ...).
	maxField = 4096
)

// Body kinds.
const (
	kindTrace       = "trace"
	kindTraceChain  = "trace_chain"
	kindMessage     = "message"
	kindCrashReport = "crash_report"
)

// decodeError is a payload Rollbar rejects: status is 400 (unparseable) or
// 422 (parseable but invalid).
type decodeError struct {
	status int
	msg    string
}

func (e *decodeError) Error() string { return e.msg }

func malformed(format string, a ...any) error {
	return &decodeError{status: 400, msg: fmt.Sprintf(format, a...)}
}

func invalid(format string, a ...any) error {
	return &decodeError{status: 422, msg: fmt.Sprintf(format, a...)}
}

// frame is one stack frame, as far as grouping needs it.
type frame struct {
	Filename string
	Method   string
}

// trace is one exception with its frames, most recent call last.
type trace struct {
	Class   string
	Message string
	Frames  []frame
}

// item is a decoded item payload: the fields waggle derives from it, plus
// the data object itself, which is stored as the occurrence.
type item struct {
	AccessToken string
	Data        *fastjson.Value

	Environment string
	Level       string
	Title       string
	UUID        string
	Timestamp   int64
	CodeVersion string
	Platform    string
	Framework   string
	Language    string
	Context     string
	Fingerprint string

	Kind        string
	Chain       []trace // trace and trace_chain; element 0 is the outermost
	Message     string  // message body, or crash report's first line
	ServerRoot  string
	ServerHost  string
	Notifier    string
	NotifierVer string

	RequestURL     string
	RequestMethod  string
	UserIP         string
	PersonID       string
	PersonUsername string
	PersonEmail    string

	// Trace ids found in the payload (attributes, custom, request headers).
	TraceID, SpanID string
}

// parsePayload parses a request body: JSON, or a form with the JSON in its
// payload field. p must outlive the returned item.
func parsePayload(p *fastjson.Parser, body []byte, form bool) (*item, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil, malformed("empty payload")
	}
	if b[0] != '{' && form {
		vals, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, malformed("malformed form body")
		}
		pl := vals.Get("payload")
		if pl == "" {
			return nil, malformed("missing payload")
		}
		b = []byte(pl)
		if t := vals.Get("access_token"); t != "" {
			it, err := decodeItem(p, b)
			if it != nil && it.AccessToken == "" {
				it.AccessToken = t
			}
			return it, err
		}
	}
	return decodeItem(p, b)
}

// decodeItem parses and validates an item payload.
func decodeItem(p *fastjson.Parser, b []byte) (*item, error) {
	root, err := p.ParseBytes(b)
	if err != nil {
		return nil, malformed("invalid JSON: %s", cutMessage(err.Error()))
	}
	if root.Type() != fastjson.TypeObject {
		return nil, malformed("payload is not a JSON object")
	}
	it := &item{AccessToken: str(root.Get("access_token"))}
	data := root.Get("data")
	if data == nil || data.Type() == fastjson.TypeNull {
		return it, invalid("missing data")
	}
	if data.Type() != fastjson.TypeObject {
		return it, invalid("data must be an object")
	}
	it.Data = data

	env := data.Get("environment")
	if env == nil || env.Type() != fastjson.TypeString {
		return it, invalid("data.environment is required and must be a string")
	}
	it.Environment = cleanString(string(env.GetStringBytes()), 255)
	if it.Environment == "" {
		return it, invalid("data.environment must not be empty")
	}
	body := data.Get("body")
	if body == nil || body.Type() != fastjson.TypeObject {
		return it, invalid("data.body is required and must be an object")
	}
	kinds := 0
	for _, k := range []string{kindTrace, kindTraceChain, kindMessage, kindCrashReport} {
		if v := body.Get(k); v != nil && v.Type() != fastjson.TypeNull {
			kinds++
			it.Kind = k
		}
	}
	if kinds != 1 {
		return it, invalid("data.body must have exactly one of trace, trace_chain, message, crash_report")
	}
	switch it.Kind {
	case kindTrace:
		t, err := decodeTrace(body.Get(kindTrace), "data.body.trace")
		if err != nil {
			return it, err
		}
		it.Chain = []trace{t}
	case kindTraceChain:
		arr, err := body.Get(kindTraceChain).Array()
		if err != nil || len(arr) == 0 {
			return it, invalid("data.body.trace_chain must be a non-empty array")
		}
		for i, v := range arr {
			if i == maxChain {
				break
			}
			t, err := decodeTrace(v, "data.body.trace_chain."+strconv.Itoa(i))
			if err != nil {
				return it, err
			}
			it.Chain = append(it.Chain, t)
		}
	case kindMessage:
		m := body.Get(kindMessage)
		var mb *fastjson.Value
		switch m.Type() {
		case fastjson.TypeObject:
			mb = m.Get("body")
		case fastjson.TypeString:
			mb = m // lenient: a bare string
		}
		if mb == nil || mb.Type() != fastjson.TypeString {
			return it, invalid("data.body.message.body is required and must be a string")
		}
		it.Message = cleanString(string(mb.GetStringBytes()), maxField)
	case kindCrashReport:
		raw := str(body.Get(kindCrashReport, "raw"))
		line, _, _ := strings.Cut(raw, "\n")
		it.Message = cleanString(line, maxField)
	}

	it.Level = normLevel(str(data.Get("level")))
	it.Title = cleanString(str(data.Get("title")), 255)
	it.UUID = cleanString(str(data.Get("uuid")), 36)
	it.Timestamp = num(data.Get("timestamp"))
	it.CodeVersion = cleanString(str(data.Get("code_version")), 40)
	if it.CodeVersion == "" {
		it.CodeVersion = cleanString(str(data.Get("server", "code_version")), 40)
	}
	it.Platform = cleanString(str(data.Get("platform")), 255)
	it.Framework = cleanString(str(data.Get("framework")), 255)
	it.Language = cleanString(str(data.Get("language")), 255)
	it.Context = cleanString(str(data.Get("context")), 255)
	it.Fingerprint = cleanString(str(data.Get("fingerprint")), maxField)
	it.ServerRoot = cleanString(str(data.Get("server", "root")), maxField)
	it.ServerHost = cleanString(str(data.Get("server", "host")), 255)
	it.Notifier = cleanString(str(data.Get("notifier", "name")), 255)
	it.NotifierVer = cleanString(str(data.Get("notifier", "version")), 255)
	it.RequestURL = cleanString(str(data.Get("request", "url")), maxField)
	it.RequestMethod = cleanString(str(data.Get("request", "method")), 32)
	it.UserIP = cleanString(str(data.Get("request", "user_ip")), 255)
	it.PersonID = cleanString(str(data.Get("person", "id")), 255)
	it.PersonUsername = cleanString(str(data.Get("person", "username")), 255)
	it.PersonEmail = cleanString(str(data.Get("person", "email")), 255)
	it.TraceID, it.SpanID = payloadTraceIDs(data)
	return it, nil
}

// decodeTrace reads one trace object. Frames are returned in the order sent;
// orientation is fixed by normalizeFrames.
func decodeTrace(v *fastjson.Value, path string) (trace, error) {
	if v == nil || v.Type() != fastjson.TypeObject {
		return trace{}, invalid("%s must be an object", path)
	}
	exc := v.Get("exception")
	if exc == nil || exc.Type() != fastjson.TypeObject {
		return trace{}, invalid("%s.exception is required", path)
	}
	cls := exc.Get("class")
	if cls == nil || cls.Type() != fastjson.TypeString {
		return trace{}, invalid("%s.exception.class is required and must be a string", path)
	}
	t := trace{
		Class:   cleanString(string(cls.GetStringBytes()), 255),
		Message: cleanString(str(exc.Get("message")), maxField),
	}
	fv := v.Get("frames")
	if fv == nil || fv.Type() == fastjson.TypeNull {
		return t, nil
	}
	frames, err := fv.Array()
	if err != nil {
		return trace{}, invalid("%s.frames must be an array", path)
	}
	if len(frames) > maxFrames {
		// Keep the most recent calls (the end, in Rollbar's order) and the
		// outermost few.
		frames = append(frames[:16:16], frames[len(frames)-(maxFrames-16):]...)
	}
	t.Frames = make([]frame, 0, len(frames))
	for _, f := range frames {
		if f.Type() != fastjson.TypeObject {
			continue
		}
		t.Frames = append(t.Frames, frame{
			Filename: cleanString(str(f.Get("filename")), 1024),
			Method:   cleanString(str(f.Get("method")), 1024),
		})
	}
	return t, nil
}

// payloadTraceIDs finds a trace id in data.attributes (rollbar.js,
// pyrollbar), data.custom, or the failed request's headers (traceparent,
// X-Amzn-Trace-Id).
func payloadTraceIDs(data *fastjson.Value) (traceID, spanID string) {
	for _, a := range arr(data.Get("attributes")) {
		{
			switch str(a.Get("key")) {
			case "trace_id":
				traceID = str(a.Get("value"))
			case "span_id":
				spanID = str(a.Get("value"))
			}
		}
	}
	if traceID == "" {
		traceID, spanID = str(data.Get("custom", "trace_id")), str(data.Get("custom", "span_id"))
	}
	if t := normTraceID(traceID); t != "" {
		return t, normSpanID(spanID)
	}
	if h := data.Get("request", "headers"); h != nil && h.Type() == fastjson.TypeObject {
		var tp, amzn string
		h.GetObject().Visit(func(k []byte, v *fastjson.Value) {
			switch strings.ToLower(string(k)) {
			case "traceparent":
				tp = str(v)
			case "x-amzn-trace-id":
				amzn = str(v)
			}
		})
		if t, s := parseTraceparent(tp); t != "" {
			return t, s
		}
		if t, s := parseAmznTraceID(amzn); t != "" {
			return t, s
		}
	}
	return "", ""
}

// parseTraceparent reads a W3C traceparent header:
// 00-<32 hex trace id>-<16 hex span id>-<flags>.
func parseTraceparent(h string) (traceID, spanID string) {
	parts := strings.Split(strings.TrimSpace(h), "-")
	if len(parts) < 4 || len(parts[0]) != 2 {
		return "", ""
	}
	t := normTraceID(parts[1])
	if t == "" || strings.Trim(t, "0") == "" {
		return "", ""
	}
	return t, normSpanID(parts[2])
}

// parseAmznTraceID reads an X-Ray header, Root=1-5f84c7a1-<24 hex>;Parent=…,
// and converts the root to a W3C trace id by dropping "1-" and the dash.
func parseAmznTraceID(h string) (traceID, spanID string) {
	for _, part := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch strings.ToLower(k) {
		case "root":
			traceID = xrayToW3C(v)
		case "parent":
			spanID = normSpanID(v)
		}
	}
	if traceID == "" {
		return "", ""
	}
	return traceID, spanID
}

// xrayToW3C converts an X-Ray trace id (1-<8 hex>-<24 hex>) to 32 hex.
func xrayToW3C(id string) string {
	id = strings.TrimSpace(id)
	if len(id) != 35 || id[0] != '1' || id[1] != '-' || id[10] != '-' {
		return ""
	}
	return normTraceID(id[2:10] + id[11:])
}

// normTraceID returns a 32-hex lowercase trace id, or "" if s is not one.
func normTraceID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 32 || !isHex(s) {
		return ""
	}
	return s
}

// normSpanID returns a 16-hex lowercase span id, or "".
func normSpanID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 16 || !isHex(s) {
		return ""
	}
	return s
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// levels are Rollbar's levels, lowest first.
var levels = []string{"debug", "info", "warning", "error", "critical"}

// normLevel returns a valid level or "" (the default applies).
func normLevel(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "warn":
		return "warning"
	case "fatal":
		return "critical"
	}
	for _, l := range levels {
		if s == l {
			return s
		}
	}
	return ""
}

// str returns v's string, or "" when v is missing or not a string.
func str(v *fastjson.Value) string {
	if v == nil || v.Type() != fastjson.TypeString {
		return ""
	}
	return string(v.GetStringBytes())
}

// num returns v as an integer (numbers and numeric strings), or 0.
func num(v *fastjson.Value) int64 {
	if v == nil {
		return 0
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		f, _ := v.Float64()
		if f > 0 && f < 1e12 {
			return int64(f)
		}
	case fastjson.TypeString:
		n, _ := strconv.ParseInt(string(v.GetStringBytes()), 10, 64)
		if n > 0 && n < 1e12 {
			return n
		}
	}
	return 0
}

// cleanString makes s valid UTF-8 and cuts it to at most n bytes.
func cleanString(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func cutMessage(s string) string { return cleanString(s, 200) }

var errNotObject = errors.New("not an object")

// arr returns v's elements, or nil when v is missing or not an array.
func arr(v *fastjson.Value) []*fastjson.Value {
	if v == nil || v.Type() != fastjson.TypeArray {
		return nil
	}
	a, _ := v.Array()
	return a
}
