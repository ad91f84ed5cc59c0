// Package api serves the AWS X-Ray REST-JSON API (POST /TraceSegments,
// /TraceSummaries, /Traces, /TraceGraph, /ServiceGraph, /CreateGroup,
// /GetGroup, /Groups, /UpdateGroup, /DeleteGroup, /GetSamplingRules,
// /CreateSamplingRule, /UpdateSamplingRule, /DeleteSamplingRule,
// /SamplingTargets, /TimeSeriesServiceStatistics, /TelemetryRecords) on the
// main HTTP listener, SigV4-signed with service "xray" and verified against
// the environment's AWS credential. Errors are AWS's REST-JSON shape:
// x-amzn-ErrorType header and {"__type", "message"} body.
//
// Traces are read through the query engine and store.Trace, so every trace
// is visible, whichever protocol brought its spans (OTLP spans are shown as
// segments and subsegments by X-Ray's exporter rules). Groups are filter
// expressions evaluated when a query names them, so they apply to every
// stored trace, including those received before the group existed.
package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/awsauth"
	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
	"github.com/waggle-hq/waggle/internal/xray"
	"github.com/waggle-hq/waggle/internal/xray/daemon"
	"github.com/waggle-hq/waggle/internal/xray/sampling"
)

// SigningName is X-Ray's SigV4 service name.
const SigningName = "xray"

// MaxBody bounds a request body.
const MaxBody = 8 << 20

// Credentials resolves AWS access key ids; *tenant.Service satisfies it.
type Credentials interface {
	AWSCredential(ctx context.Context, accessKeyID string) (tenant.Environment, string, error)
}

// Tracer reads one trace; store.Store satisfies it.
type Tracer interface {
	Trace(ctx context.Context, env event.EnvID, traceID string) ([]query.RawEvent, error)
}

// Executor runs plans; store.Store satisfies it.
type Executor interface {
	Execute(ctx context.Context, env event.EnvID, p *query.Plan) (*query.Result, error)
}

// API serves the X-Ray REST API.
type API struct {
	Store     Tracer
	Exec      Executor
	Engine    *query.Engine
	Catalog   query.Catalog
	Pipeline  daemon.Submitter
	Meta      *meta.DB
	Sampling  *sampling.Service
	Assembler *xray.Assembler
	Auth      Credentials
	Region    string
	Log       *slog.Logger
	Now       func() time.Time

	verifier *awsauth.Verifier[tenant.Environment]
}

// Init prepares the API.
func (a *API) Init() {
	if a.Log == nil {
		a.Log = slog.Default()
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Assembler == nil {
		a.Assembler = &xray.Assembler{}
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
}

type call struct {
	ctx    context.Context
	env    event.EnvID
	region string
	body   []byte
}

type handler func(a *API, c *call) (any, *apiError)

var operations = map[string]handler{
	"TraceSegments":               (*API).putTraceSegments,
	"TraceSummaries":              (*API).getTraceSummaries,
	"Traces":                      (*API).batchGetTraces,
	"TraceGraph":                  (*API).getTraceGraph,
	"ServiceGraph":                (*API).getServiceGraph,
	"TimeSeriesServiceStatistics": (*API).getTimeSeries,
	"CreateGroup":                 (*API).createGroup,
	"GetGroup":                    (*API).getGroup,
	"Groups":                      (*API).getGroups,
	"UpdateGroup":                 (*API).updateGroup,
	"DeleteGroup":                 (*API).deleteGroup,
	"GetSamplingRules":            (*API).getSamplingRules,
	"CreateSamplingRule":          (*API).createSamplingRule,
	"UpdateSamplingRule":          (*API).updateSamplingRule,
	"DeleteSamplingRule":          (*API).deleteSamplingRule,
	"SamplingTargets":             (*API).getSamplingTargets,
	"TelemetryRecords":            func(*API, *call) (any, *apiError) { return struct{}{}, nil },
}

// Register mounts every operation at POST /<Path>. None of these paths is
// used by another API of the server.
func (a *API) Register(mux *http.ServeMux) {
	for path := range operations {
		mux.HandleFunc("POST /"+path, a.ServeHTTP)
	}
}

// ServeHTTP serves a signed request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.serve(w, r, nil) }

// Unsigned returns a handler serving the operations without a signature
// for env (the daemon's TCP port, as the official daemon's proxy signs for
// its clients).
func (a *API) Unsigned(env event.EnvID) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, &env) })
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, unsigned *event.EnvID) {
	w.Header().Set("x-amzn-RequestId", fmt.Sprintf("%x", a.Now().UnixNano()))
	op := strings.TrimPrefix(r.URL.Path, "/")
	h, ok := operations[op]
	if !ok || r.Method != http.MethodPost {
		writeError(w, &apiError{404, "UnknownOperationException", "Unknown operation " + op})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		writeError(w, &apiError{400, "InvalidRequestException", "The request body could not be read."})
		return
	}
	if len(body) > MaxBody {
		writeError(w, &apiError{413, "InvalidRequestException", "Request body is too large."})
		return
	}
	c := &call{ctx: r.Context(), region: a.Region}
	if unsigned != nil {
		c.env = *unsigned
	} else {
		env, signed, verr := a.verifier.Verify(r.Context(), r, body)
		if verr != nil {
			var ae *awsauth.Error
			if errors.As(verr, &ae) {
				if ae.Err != nil && ae.Code == awsauth.CodeInternalFailure {
					a.Log.Error("x-ray: credential lookup", "err", ae.Err)
				}
				// X-Ray is REST-JSON behind AWS's front door, which answers
				// every authentication failure (missing, incomplete, expired
				// or wrong signature, unknown key) with 403; awsauth's 400 is
				// the awsJson services' (Logs) status.
				status := ae.Status
				if status == http.StatusBadRequest {
					status = http.StatusForbidden
				}
				writeError(w, &apiError{status, ae.Code, ae.Message})
				return
			}
			writeError(w, errInternal())
			return
		}
		c.env, c.region = env.ID, signed.Region
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	c.body = body
	res, aerr := a.safeCall(h, c)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	out, merr := json.Marshal(res)
	if merr != nil {
		a.Log.Error("x-ray: encode response", "op", op, "err", merr)
		writeError(w, errInternal())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(out)))
	_, _ = w.Write(out)
}

func (a *API) safeCall(h handler, c *call) (res any, aerr *apiError) {
	defer func() {
		if p := recover(); p != nil {
			a.Log.Error("x-ray: panic", "panic", p)
			res, aerr = nil, errInternal()
		}
	}()
	return h(a, c)
}

type apiError struct {
	status  int
	code    string
	message string
}

func writeError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(map[string]string{"__type": e.code, "message": e.message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", e.code)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func invalidRequest(format string, args ...any) *apiError {
	return &apiError{400, "InvalidRequestException", fmt.Sprintf(format, args...)}
}

func errInternal() *apiError {
	return &apiError{500, "InternalFailure", "The request processing has failed because of an unknown error."}
}

func errThrottled() *apiError { return &apiError{429, "ThrottledException", "Rate exceeded"} }

func (a *API) internal(what string, err error) *apiError {
	if errors.Is(err, context.Canceled) {
		return errInternal()
	}
	a.Log.Error("x-ray: "+what, "err", err)
	return errInternal()
}

func decode(c *call, v any) *apiError {
	dec := json.NewDecoder(bytes.NewReader(c.body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalidRequest("Unexpected value type for member %q", te.Field)
		}
		return invalidRequest("Could not parse request body into json")
	}
	return nil
}

// epoch is a timestamp member: epoch seconds as an integer or a float (the
// CLI sends integers, the Go SDK floats).
type epoch float64

func (e *epoch) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		*e = epoch(f)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*e = epoch(float64(t.UnixNano()) / 1e9)
	return nil
}

func (e epoch) time() time.Time { return xray.Time(float64(e)) }

func secs(t time.Time) float64 { return math.Round(float64(t.UnixNano())/1e6) / 1e3 }

// token encodes a page cursor.
func token(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func untoken(s string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && json.Unmarshal(b, v) == nil
}
