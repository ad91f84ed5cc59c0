// Package cloudwatchlogs serves the CloudWatch Logs API (awsJson1_1, target
// prefix Logs_20140328) so that boto3, watchtower, the AWS CLI and the AWS
// SDKs work unchanged but for the endpoint and the access key.
//
// Log groups and streams are metadata (meta.LogGroup, meta.LogStream); every
// log line is an event in the group's dataset of the event store (see
// events.go for the fields), so the Honeycomb query engine charts logs and
// trace lookups find log lines carrying a trace id. Requests are SigV4-signed
// with an access key pair configured for an environment (internal/awsauth).
package cloudwatchlogs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/waggle-hq/waggle/internal/awsauth"
	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/tenant"
	"github.com/waggle-hq/waggle/internal/wire"
)

// TargetPrefix is the X-Amz-Target prefix of CloudWatch Logs operations.
const TargetPrefix = "Logs_20140328."

// SigningName is the SigV4 service name of CloudWatch Logs.
const SigningName = "logs"

// MaxBody bounds a request body: PutLogEvents carries at most 1,048,576
// bytes of messages, which JSON escaping can inflate.
const MaxBody = 8 << 20

// Credentials resolves an AWS access key id; *tenant.Service satisfies it.
type Credentials interface {
	AWSCredential(ctx context.Context, accessKeyID string) (tenant.Environment, string, error)
}

// API holds what the handlers need.
type API struct {
	Store    store.Store
	Pipeline *ingest.Pipeline
	Meta     *meta.DB
	Auth     Credentials
	Log      *slog.Logger
	// Now returns the current time; tests may replace it.
	Now func() time.Time

	verifier *awsauth.Verifier[tenant.Environment]
	reg      *registry
	queries  *queryTable
	reqSeq   atomic.Uint64
	batchSeq atomic.Int64
}

// Init prepares the API; call it once before serving.
func (a *API) Init() {
	if a.Log == nil {
		a.Log = slog.Default()
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	a.verifier = &awsauth.Verifier[tenant.Environment]{
		Service: SigningName,
		Now:     func() time.Time { return a.Now() },
		Lookup: func(ctx context.Context, id string) (tenant.Environment, string, error) {
			env, secret, err := a.Auth.AWSCredential(ctx, id)
			if errors.Is(err, tenant.ErrUnknownKey) {
				err = fmt.Errorf("%w: %w", awsauth.ErrUnknownKey, err)
			}
			return env, secret, err
		},
	}
	a.reg = newRegistry(a.Meta)
	a.queries = newQueryTable()
	a.batchSeq.Store(time.Now().UnixNano())
}

// Handles reports whether r is a CloudWatch Logs request (by its
// X-Amz-Target), so that POST / can be shared with other awsJson services.
func Handles(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
}

// call is one request being served.
type call struct {
	ctx    context.Context
	env    tenant.Environment
	region string
	op     string
	body   []byte
}

// account is the 12-digit account id ARNs and @log carry: the environment's
// id, zero-padded.
func (c *call) account() string { return fmt.Sprintf("%012d", int64(c.env.ID)) }

// groupARN is a log group's ARN without the trailing ":*".
func (c *call) groupARN(name string) string {
	return "arn:aws:logs:" + c.region + ":" + c.account() + ":log-group:" + name
}

type handler func(a *API, c *call) (any, *apiError)

var operations = map[string]handler{
	"CreateLogGroup":        (*API).createLogGroup,
	"DeleteLogGroup":        (*API).deleteLogGroup,
	"DescribeLogGroups":     (*API).describeLogGroups,
	"CreateLogStream":       (*API).createLogStream,
	"DeleteLogStream":       (*API).deleteLogStream,
	"DescribeLogStreams":    (*API).describeLogStreams,
	"PutLogEvents":          (*API).putLogEvents,
	"GetLogEvents":          (*API).getLogEvents,
	"FilterLogEvents":       (*API).filterLogEvents,
	"PutRetentionPolicy":    (*API).putRetentionPolicy,
	"DeleteRetentionPolicy": (*API).deleteRetentionPolicy,
	"TagResource":           (*API).tagResource,
	"UntagResource":         (*API).untagResource,
	"ListTagsForResource":   (*API).listTagsForResource,
	"TagLogGroup":           (*API).tagLogGroup,
	"UntagLogGroup":         (*API).untagLogGroup,
	"ListTagsLogGroup":      (*API).listTagsLogGroup,
	"StartQuery":            (*API).startQuery,
	"GetQueryResults":       (*API).getQueryResults,
	"StopQuery":             (*API).stopQuery,
	"DescribeQueries":       (*API).describeQueries,
	"GetLogGroupFields":     (*API).getLogGroupFields,
}

// ServeHTTP serves POST / with X-Amz-Target: Logs_20140328.<Operation>.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := a.requestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	target := r.Header.Get("X-Amz-Target")
	op, _ := strings.CutPrefix(target, TargetPrefix)
	if r.Method != http.MethodPost {
		a.writeError(w, errUnknownOperation())
		return
	}
	body, err := wire.ReadBody(r.Body, wire.Identity, r.ContentLength, wire.Limits{MaxBytes: MaxBody}, a.Pipeline.Budget())
	switch {
	case errors.Is(err, wire.ErrEmpty):
		body = nil
	case errors.Is(err, wire.ErrTooLarge):
		a.writeError(w, &apiError{413, "SerializationException", "Request body is too large."})
		return
	case errors.Is(err, wire.ErrOverloaded):
		w.Header().Set("Retry-After", "1")
		a.writeError(w, errThrottled())
		return
	case err != nil:
		a.writeError(w, &apiError{400, "SerializationException", "The request body could not be read."})
		return
	}
	defer body.Release()
	raw := body.Bytes()
	env, signed, verr := a.verifier.Verify(r.Context(), r, raw)
	if verr != nil {
		var ae *awsauth.Error
		if errors.As(verr, &ae) {
			if ae.Err != nil && ae.Code == awsauth.CodeInternalFailure {
				a.Log.Error("cloudwatch logs: credential lookup", "err", ae.Err)
			}
			a.writeError(w, &apiError{ae.Status, ae.Code, ae.Message})
			return
		}
		a.writeError(w, errInternal())
		return
	}
	h, ok := operations[op]
	if !ok {
		a.writeError(w, errUnknownOperation())
		return
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	c := &call{ctx: r.Context(), env: env, region: signed.Region, op: op, body: raw}
	res, aerr := a.safeCall(h, c)
	if aerr != nil {
		a.writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if res == nil {
		res = struct{}{}
	}
	out, merr := json.Marshal(res)
	if merr != nil {
		a.Log.Error("cloudwatch logs: encode response", "op", op, "err", merr)
		a.writeError(w, errInternal())
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// safeCall runs an operation, turning a panic into an InternalFailure.
func (a *API) safeCall(h handler, c *call) (res any, aerr *apiError) {
	defer func() {
		if p := recover(); p != nil {
			a.Log.Error("cloudwatch logs: panic", "op", c.op, "panic", p)
			res, aerr = nil, errInternal()
		}
	}()
	return h(a, c)
}

func (a *API) requestID() string {
	n := a.reqSeq.Add(1)
	t := a.Now().UnixNano()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(t>>32), uint16(t>>16), uint16(t), uint16(n>>48), n&0xffffffffffff)
}

// apiError is an AWS error response.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func (a *API) writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-ErrorType", e.code)
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.code, e.message})
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func invalidParam(format string, args ...any) *apiError {
	return &apiError{400, "InvalidParameterException", fmt.Sprintf(format, args...)}
}

func validationError(format string, args ...any) *apiError {
	return &apiError{400, "ValidationException", fmt.Sprintf(format, args...)}
}

func errGroupNotFound() *apiError {
	return &apiError{400, "ResourceNotFoundException", "The specified log group does not exist."}
}

func errStreamNotFound() *apiError {
	return &apiError{400, "ResourceNotFoundException", "The specified log stream does not exist."}
}

func errUnknownOperation() *apiError {
	return &apiError{400, "UnknownOperationException", ""}
}

func errInternal() *apiError {
	return &apiError{500, "ServiceUnavailableException", "The service cannot complete the request."}
}

func errThrottled() *apiError {
	return &apiError{400, "ThrottlingException", "Rate exceeded"}
}

func errBadToken() *apiError { return invalidParam("The specified nextToken is invalid.") }

// UnknownOperation writes AWS's answer to an awsJson request whose target no
// service of this server knows; the server uses it for POST / requests that
// are not CloudWatch Logs.
func UnknownOperation(w http.ResponseWriter) {
	(&API{}).writeError(w, errUnknownOperation())
}

// decode unmarshals the request body strictly enough to report AWS's
// SerializationException for malformed JSON and wrong member types.
func decode(c *call, v any) *apiError {
	dec := json.NewDecoder(bytes.NewReader(c.body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &apiError{400, "SerializationException", fmt.Sprintf("Unexpected value type for member %q", te.Field)}
		}
		return &apiError{400, "SerializationException", "Could not parse request body into json: " + shortErr(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &apiError{400, "SerializationException", "Could not parse request body into json: trailing data"}
	}
	return nil
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// internal logs an unexpected failure and returns the AWS error for it.
func (a *API) internal(c *call, what string, err error) *apiError {
	if errors.Is(err, ingest.ErrOverloaded) {
		return errThrottled()
	}
	if errors.Is(err, context.Canceled) {
		return errInternal()
	}
	a.Log.Error("cloudwatch logs: "+what, "op", c.op, "env", c.env.ID, "err", err)
	return errInternal()
}

// envID is the call's environment.
func (c *call) envID() event.EnvID { return c.env.ID }

func contextBackground() context.Context { return context.Background() }
