// Package awsauth verifies AWS Signature Version 4 on incoming requests, the
// way an AWS service does: it recomputes the canonical request from what the
// client sent (its own SignedHeaders list, the raw body's SHA-256 or the
// x-amz-content-sha256 header), derives the signing key from the secret the
// access key id resolves to, and compares signatures in constant time.
//
// Failures are *Error values carrying AWS's error code, message and HTTP
// status, so every AWS protocol (awsJson1_1 for CloudWatch Logs, REST-JSON for
// X-Ray) renders them in its own error shape.
//
// What is checked, in AWS's order:
//   - an Authorization header (or presigned X-Amz-* query parameters) exists:
//     MissingAuthenticationTokenException otherwise;
//   - it is well formed (algorithm AWS4-HMAC-SHA256, Credential, SignedHeaders,
//     Signature, a date): IncompleteSignatureException otherwise;
//   - the credential scope is <date>/<region>/<service>/aws4_request, names the
//     verifier's service and the request's date: InvalidSignatureException;
//   - the request time is within MaxSkew (15 minutes) of now:
//     InvalidSignatureException "Signature expired: …" / "Signature not yet
//     current: …";
//   - the access key id is known: UnrecognizedClientException;
//   - the signature matches: InvalidSignatureException.
//
// Any region is accepted: a self-hosted server has no regions, and the client
// signs with whichever it is configured for.
package awsauth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// DefaultMaxSkew is how far a request's time may be from the server's clock.
const DefaultMaxSkew = 15 * time.Minute

// timeFormat is the ISO 8601 basic format of X-Amz-Date.
const timeFormat = "20060102T150405Z"

// ErrUnknownKey is what a Lookup returns (possibly wrapped) for an access key
// id it does not know; the verifier answers UnrecognizedClientException.
var ErrUnknownKey = errors.New("unknown AWS access key id")

// Lookup resolves an access key id to the principal it acts as and its secret
// access key. It returns an error wrapping ErrUnknownKey for an unknown id;
// any other error becomes an InternalFailure.
type Lookup[P any] func(ctx context.Context, accessKeyID string) (principal P, secret string, err error)

// Verifier checks SigV4 signatures for one service ("logs", "xray").
type Verifier[P any] struct {
	// Service is the signing name the credential scope must carry.
	Service string
	// Lookup resolves access key ids.
	Lookup Lookup[P]
	// Now returns the server's clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds |request time − now|; zero means DefaultMaxSkew.
	MaxSkew time.Duration
	// AllowUnsignedPayload accepts x-amz-content-sha256: UNSIGNED-PAYLOAD
	// (the body is then not covered by the signature). Off by default: SDKs
	// only send it over TLS to services that ask for it.
	AllowUnsignedPayload bool
}

// Signed describes a request whose signature checked out.
type Signed struct {
	AccessKeyID string
	// Date is the request time (X-Amz-Date or Date).
	Date time.Time
	// Region and Service are the credential scope's.
	Region  string
	Service string
	// SignedHeaders is the client's list, lower case, in its order.
	SignedHeaders []string
	// SessionToken is X-Amz-Security-Token, if the client sent one (waggle
	// issues no temporary credentials, so it is not checked further).
	SessionToken string
}

// Error is a verification failure as AWS reports it.
type Error struct {
	// Status is the HTTP status AWS answers with.
	Status int
	// Code is the AWS error code (awsJson's __type, x-amzn-ErrorType).
	Code string
	// Message is AWS's message text.
	Message string
	// Err is an underlying cause for logs (lookup failures); never shown.
	Err error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Error codes.
const (
	CodeMissingToken          = "MissingAuthenticationTokenException"
	CodeIncompleteSignature   = "IncompleteSignatureException"
	CodeInvalidSignature      = "InvalidSignatureException"
	CodeUnrecognizedClient    = "UnrecognizedClientException"
	CodeInternalFailure       = "InternalFailure"
	MsgMissingToken           = "Missing Authentication Token"
	MsgUnrecognizedClient     = "The security token included in the request is invalid."
	MsgSignatureDoesNotMatch  = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgContentSHA256Mismatch  = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgUnsignedPayloadRefused = "UNSIGNED-PAYLOAD is not accepted by this service; sign the payload."
)

func fail(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// authParts is a parsed Authorization header or presigned query.
type authParts struct {
	raw           string
	credential    string
	signedHeaders string
	signature     string
	date          string // X-Amz-Date value or the Date header
	presigned     bool
	expires       time.Duration
}

// Verify checks r's signature over body, the raw request body as received
// (before any decompression). On success it returns the principal the access
// key id resolved to; on failure a *Error.
func (v *Verifier[P]) Verify(ctx context.Context, r *http.Request, body []byte) (P, *Signed, error) {
	var zero P
	a, aerr := parseAuth(r)
	if aerr != nil {
		return zero, nil, aerr
	}
	// Credential = AKID/yyyymmdd/region/service/aws4_request. The access key
	// id itself may not contain '/', the scope parts never do.
	scope := strings.Split(a.credential, "/")
	if len(scope) != 5 || scope[0] == "" {
		return zero, nil, fail(400, CodeIncompleteSignature,
			fmt.Sprintf("Credential should be scoped to a valid region. Authorization=%s", a.raw))
	}
	akid, scopeDate, region, service, term := scope[0], scope[1], scope[2], scope[3], scope[4]
	if term != "aws4_request" {
		return zero, nil, fail(400, CodeInvalidSignature,
			fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", term))
	}
	if region == "" {
		return zero, nil, fail(400, CodeInvalidSignature, "Credential should be scoped to a valid region. ")
	}
	if service != v.Service {
		return zero, nil, fail(400, CodeInvalidSignature,
			fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", v.Service))
	}
	reqTime, ok := parseDate(a.date)
	if !ok {
		return zero, nil, fail(400, CodeIncompleteSignature,
			fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", a.date))
	}
	if d := reqTime.Format("20060102"); scopeDate != d {
		return zero, nil, fail(400, CodeInvalidSignature,
			fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
				scopeDate, d, a.date))
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	t := now().UTC()
	f := func(x time.Time) string { return x.UTC().Format(timeFormat) }
	mins := int(skew / time.Minute)
	switch {
	case a.presigned && t.After(reqTime.Add(a.expires)):
		return zero, nil, fail(400, CodeInvalidSignature,
			fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s.)", f(reqTime.Add(a.expires)), f(t), f(t), a.expires))
	case !a.presigned && reqTime.Before(t.Add(-skew)):
		return zero, nil, fail(400, CodeInvalidSignature,
			fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %d min.)", f(reqTime), f(t.Add(-skew)), f(t), mins))
	case reqTime.After(t.Add(skew)):
		return zero, nil, fail(400, CodeInvalidSignature,
			fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %d min.)", f(reqTime), f(t.Add(skew)), f(t), mins))
	}
	principal, secret, err := v.Lookup(ctx, akid)
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return zero, nil, &Error{Status: 400, Code: CodeUnrecognizedClient, Message: MsgUnrecognizedClient, Err: err}
		}
		return zero, nil, &Error{Status: 500, Code: CodeInternalFailure, Message: "The request processing has failed because of an unknown error, exception or failure.", Err: err}
	}
	signed := strings.Split(a.signedHeaders, ";")
	payloadHash, perr := v.payloadHash(r, body, a.presigned)
	if perr != nil {
		return zero, nil, perr
	}
	creq, cerr := canonicalRequest(r, signed, payloadHash, a.presigned)
	if cerr != nil {
		return zero, nil, cerr
	}
	sum := sha256.Sum256([]byte(creq))
	sts := Algorithm + "\n" + a.date + "\n" + scopeDate + "/" + region + "/" + service + "/aws4_request\n" + hex.EncodeToString(sum[:])
	want := hex.EncodeToString(hmacSHA256(SigningKey(secret, scopeDate, region, service), []byte(sts)))
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(a.signature))) != 1 {
		return zero, nil, fail(400, CodeInvalidSignature, MsgSignatureDoesNotMatch)
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if a.presigned {
		token = r.URL.Query().Get("X-Amz-Security-Token")
	}
	return principal, &Signed{
		AccessKeyID: akid, Date: reqTime, Region: region, Service: service,
		SignedHeaders: signed, SessionToken: token,
	}, nil
}

// payloadHash is the hash the canonical request ends with.
func (v *Verifier[P]) payloadHash(r *http.Request, body []byte, presigned bool) (string, *Error) {
	sum := sha256.Sum256(body)
	computed := hex.EncodeToString(sum[:])
	h := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case h == "" && presigned:
		return "UNSIGNED-PAYLOAD", nil
	case h == "":
		return computed, nil
	case h == "UNSIGNED-PAYLOAD":
		if !v.AllowUnsignedPayload && len(body) > 0 {
			return "", fail(400, CodeInvalidSignature, msgUnsignedPayloadRefused)
		}
		return h, nil
	case !strings.EqualFold(h, computed):
		return "", fail(400, CodeInvalidSignature, msgContentSHA256Mismatch)
	}
	return h, nil
}

// parseAuth reads the Authorization header or, failing that, presigned query
// parameters.
func parseAuth(r *http.Request) (*authParts, *Error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		q := r.URL.Query()
		if q.Get("X-Amz-Algorithm") == "" && q.Get("X-Amz-Signature") == "" {
			return nil, fail(400, CodeMissingToken, MsgMissingToken)
		}
		return parsePresigned(r, q)
	}
	a := &authParts{raw: h}
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != Algorithm {
		// AWS answers an unknown scheme as if no AWS signature were there.
		return nil, fail(400, CodeIncompleteSignature,
			fmt.Sprintf("Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=%s", h))
	}
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "Credential":
			a.credential = val
		case "SignedHeaders":
			a.signedHeaders = val
		case "Signature":
			a.signature = val
		}
	}
	a.date = r.Header.Get("X-Amz-Date")
	if a.date == "" {
		a.date = r.Header.Get("Date")
	}
	var missing []string
	if a.credential == "" {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if a.signature == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if a.signedHeaders == "" {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if a.date == "" {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return nil, fail(400, CodeIncompleteSignature, strings.Join(missing, " ")+" Authorization="+h)
	}
	return a, nil
}

func parsePresigned(r *http.Request, q url.Values) (*authParts, *Error) {
	a := &authParts{
		raw:           r.URL.RawQuery,
		credential:    q.Get("X-Amz-Credential"),
		signedHeaders: q.Get("X-Amz-SignedHeaders"),
		signature:     q.Get("X-Amz-Signature"),
		date:          q.Get("X-Amz-Date"),
		presigned:     true,
	}
	var missing []string
	if q.Get("X-Amz-Algorithm") != Algorithm {
		missing = append(missing, "AWS query-string parameters must include 'X-Amz-Algorithm'.")
	}
	if a.credential == "" {
		missing = append(missing, "AWS query-string parameters must include 'X-Amz-Credential'.")
	}
	if a.signature == "" {
		missing = append(missing, "AWS query-string parameters must include 'X-Amz-Signature'.")
	}
	if a.signedHeaders == "" {
		missing = append(missing, "AWS query-string parameters must include 'X-Amz-SignedHeaders'.")
	}
	if a.date == "" {
		missing = append(missing, "AWS query-string parameters must include 'X-Amz-Date'.")
	}
	exp := q.Get("X-Amz-Expires")
	secs := 0
	if exp == "" {
		missing = append(missing, "AWS query-string parameters must include 'X-Amz-Expires'.")
	} else if _, err := fmt.Sscanf(exp, "%d", &secs); err != nil || secs < 0 || secs > 604800 {
		missing = append(missing, "X-Amz-Expires must be a number of seconds from 0 to 604800.")
	}
	if len(missing) > 0 {
		return nil, fail(400, CodeIncompleteSignature, strings.Join(missing, " ")+" Re-examine the query-string parameters.")
	}
	a.expires = time.Duration(secs) * time.Second
	return a, nil
}

// parseDate accepts ISO 8601 basic format (X-Amz-Date) or an HTTP date.
func parseDate(s string) (time.Time, bool) {
	if t, err := time.Parse(timeFormat, s); err == nil {
		return t, true
	}
	if t, err := http.ParseTime(s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// canonicalRequest builds SigV4's canonical request from what the client
// sent.
func canonicalRequest(r *http.Request, signed []string, payloadHash string, presigned bool) (string, *Error) {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(CanonicalURI(rawPath(r)))
	b.WriteByte('\n')
	b.WriteString(CanonicalQuery(r.URL.RawQuery, presigned))
	b.WriteByte('\n')
	hasHost := false
	prev := ""
	for i, name := range signed {
		if name == "" || name != strings.ToLower(name) || (i > 0 && name <= prev) {
			// AWS requires lower-case names, sorted, without duplicates.
			return "", fail(400, CodeInvalidSignature, MsgSignatureDoesNotMatch)
		}
		prev = name
		if name == "host" {
			hasHost = true
		}
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(r, name))
		b.WriteByte('\n')
	}
	if !hasHost && r.Host != "" {
		// Host must be signed (SigV4 requires it).
		return "", fail(400, CodeInvalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String(), nil
}

// rawPath is the path as the client sent it (still percent-encoded).
func rawPath(r *http.Request) string {
	if r.RequestURI != "" && r.RequestURI != "*" && strings.HasPrefix(r.RequestURI, "/") {
		p, _, _ := strings.Cut(r.RequestURI, "?")
		return p
	}
	return r.URL.EscapedPath()
}

// headerValue is a signed header's canonical value: the values of every
// header line of that name joined by ',', each trimmed with inner runs of
// spaces collapsed. Go's server keeps Host and, for a body of known size,
// Content-Length outside r.Header.
func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return trimAll(r.Host)
	case "content-length":
		if _, ok := r.Header["Content-Length"]; !ok && r.ContentLength >= 0 {
			return fmt.Sprint(r.ContentLength)
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return strings.Join(r.TransferEncoding, ",")
		}
	}
	vals := r.Header.Values(name)
	if len(vals) == 1 {
		return trimAll(vals[0])
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = trimAll(v)
	}
	return strings.Join(out, ",")
}

// trimAll trims s and collapses each inner run of spaces to one.
func trimAll(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// CanonicalURI normalizes a percent-encoded path (dot segments removed, as
// botocore and the Go SDK do for every service but S3) and encodes it again:
// for non-S3 services SigV4 signs the path URI-encoded twice.
func CanonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	p := normalizePath(escapedPath)
	return uriEncode(p, false)
}

// normalizePath removes "." and ".." segments, keeping a trailing slash.
func normalizePath(p string) string {
	if !strings.Contains(p, "/.") {
		return p
	}
	trailing := strings.HasSuffix(p, "/")
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	s := "/" + strings.Join(out, "/")
	if trailing && s != "/" {
		s += "/"
	}
	return s
}

// CanonicalQuery decodes each parameter of a raw query, re-encodes name and
// value with SigV4's rules and sorts them by name, then value. Presigned
// requests leave X-Amz-Signature out.
func CanonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var params []kv
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			dk = k
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			dv = v
		}
		if presigned && dk == "X-Amz-Signature" {
			continue
		}
		params = append(params, kv{uriEncode(dk, true), uriEncode(dv, true)})
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var b bytes.Buffer
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// uriEncode percent-encodes every byte but the unreserved ones (A-Z a-z 0-9
// - _ . ~) with upper-case hex; '/' too when encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
		}
	}
	return b.String()
}

// SigningKey derives SigV4's signing key.
func SigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}
