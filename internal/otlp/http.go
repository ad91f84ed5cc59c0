package otlp

import (
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/waggle-hq/waggle/internal/wire"
)

// bodyLimits bounds OTLP/HTTP bodies.
var bodyLimits = wire.Limits{MaxBytes: MaxBodyBytes, MaxDecodedBytes: MaxBodyBytes}

// Register mounts POST /v1/traces, /v1/logs and /v1/metrics (each also with
// a trailing slash, as Refinery accepts) on mux, with CORS for browser
// SDKs.
func (r *Receiver) Register(mux *http.ServeMux) {
	for _, route := range []struct {
		path string
		h    http.HandlerFunc
	}{
		{"/v1/traces", r.handleTraces},
		{"/v1/logs", r.handleLogs},
		{"/v1/metrics", r.handleMetrics},
	} {
		for _, p := range []string{route.path, route.path + "/"} {
			mux.Handle("POST "+p, cors.Wrap(route.h))
			mux.Handle("OPTIONS "+p, cors.Preflight())
		}
	}
}

// Handler returns a handler serving only the OTLP/HTTP routes, for OTLP's
// own port.
func (r *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	r.Register(mux)
	return mux
}

// cors allows browser OpenTelemetry SDKs to export from any origin.
var cors = &wire.CORS{
	Methods: []string{http.MethodPost},
	Headers: []string{"Content-Type", "Content-Encoding", "X-Honeycomb-Team", "X-Honeycomb-Dataset", "X-Honeycomb-UserAgent"},
	Expose:  []string{"Retry-After"},
	MaxAge:  24 * time.Hour,
}

// The encodings of an OTLP/HTTP body.
type encoding uint8

const (
	encProto encoding = iota
	encJSON
)

// contentEncoding returns the body encoding the Content-Type names.
func contentEncoding(h string) (encoding, bool) {
	mt, _, err := mime.ParseMediaType(h)
	if err != nil {
		mt = strings.TrimSpace(strings.ToLower(h))
	}
	switch mt {
	case "application/x-protobuf", "application/protobuf":
		return encProto, true
	case "application/json":
		return encJSON, true
	}
	return 0, false
}

// signal is one of the three OTLP/HTTP endpoints.
type signal struct {
	name string
	// translate decodes a body and translates it.
	translate func(body []byte, enc encoding, ri requestInfo) (translation, error)
	// response encodes the Export*ServiceResponse with a partial success.
	response func(enc encoding, rejected int64, msg string) ([]byte, error)
	// classicNeedsDataset says a classic key must name the dataset.
	classicNeedsDataset bool
}

var tracesSignal = signal{
	name: "traces",
	translate: func(body []byte, enc encoding, ri requestInfo) (translation, error) {
		req := ptraceotlp.NewExportRequest()
		if err := unmarshal(req, body, enc); err != nil {
			return translation{}, err
		}
		return translateTraces(req.Traces(), ri), nil
	},
	response: func(enc encoding, rejected int64, msg string) ([]byte, error) {
		resp := ptraceotlp.NewExportResponse()
		if rejected > 0 {
			resp.PartialSuccess().SetRejectedSpans(rejected)
			resp.PartialSuccess().SetErrorMessage(msg)
		}
		return marshal(resp, enc)
	},
	classicNeedsDataset: true,
}

var logsSignal = signal{
	name: "logs",
	translate: func(body []byte, enc encoding, ri requestInfo) (translation, error) {
		req := plogotlp.NewExportRequest()
		if err := unmarshal(req, body, enc); err != nil {
			return translation{}, err
		}
		return translateLogs(req.Logs(), ri), nil
	},
	response: func(enc encoding, rejected int64, msg string) ([]byte, error) {
		resp := plogotlp.NewExportResponse()
		if rejected > 0 {
			resp.PartialSuccess().SetRejectedLogRecords(rejected)
			resp.PartialSuccess().SetErrorMessage(msg)
		}
		return marshal(resp, enc)
	},
}

var metricsSignal = signal{
	name: "metrics",
	translate: func(body []byte, enc encoding, ri requestInfo) (translation, error) {
		req := pmetricotlp.NewExportRequest()
		if err := unmarshal(req, body, enc); err != nil {
			return translation{}, err
		}
		return translateMetrics(req.Metrics(), ri), nil
	},
	response: func(enc encoding, rejected int64, msg string) ([]byte, error) {
		resp := pmetricotlp.NewExportResponse()
		if rejected > 0 {
			resp.PartialSuccess().SetRejectedDataPoints(rejected)
			resp.PartialSuccess().SetErrorMessage(msg)
		}
		return marshal(resp, enc)
	},
}

type protoJSON interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

type protoJSONOut interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func unmarshal(m protoJSON, body []byte, enc encoding) error {
	if enc == encJSON {
		return m.UnmarshalJSON(body)
	}
	return m.UnmarshalProto(body)
}

func marshal(m protoJSONOut, enc encoding) ([]byte, error) {
	if enc == encJSON {
		return m.MarshalJSON()
	}
	return m.MarshalProto()
}

func (r *Receiver) handleTraces(w http.ResponseWriter, req *http.Request) {
	r.serveHTTP(w, req, &tracesSignal)
}

func (r *Receiver) handleLogs(w http.ResponseWriter, req *http.Request) {
	r.serveHTTP(w, req, &logsSignal)
}

func (r *Receiver) handleMetrics(w http.ResponseWriter, req *http.Request) {
	r.serveHTTP(w, req, &metricsSignal)
}

// serveHTTP is the OTLP/HTTP exchange: check the content type and key, read
// the body within the size limit and the memory budget, decode and translate
// it behind the decode gate, submit the events and answer, once they are
// durable, with the Export*ServiceResponse in the request's encoding.
func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request, sig *signal) {
	enc, ok := contentEncoding(req.Header.Get("Content-Type"))
	if !ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(errContentType.http)
		_, _ = w.Write([]byte(errContentType.msg))
		return
	}
	key := req.Header.Get(teamHeader)
	ri := requestInfo{dataset: req.Header.Get(datasetHeader), now: r.now(), classic: classicKey(key)}
	if ri.classic && sig.classicNeedsDataset && strings.TrimSpace(ri.dataset) == "" {
		writeFailure(w, enc, errMissingDataset)
		return
	}
	p, fail := r.authenticate(req.Context(), key)
	if fail != nil {
		writeFailure(w, enc, fail)
		return
	}
	body, err := wire.ReadRequest(req, bodyLimits, r.Pipeline.Budget())
	if err != nil {
		writeFailure(w, enc, bodyFailure(err))
		return
	}
	defer body.Release()
	extra := int64(parseFactor * len(body.Bytes()))
	if !r.Pipeline.Budget().TryAcquire(extra) {
		writeFailure(w, enc, errOverloaded)
		return
	}
	leave, err := r.Pipeline.DecodeGate().Enter(req.Context())
	if err != nil {
		r.Pipeline.Budget().Release(extra)
		return // the client went away
	}
	t, err := sig.translate(body.Bytes(), enc, ri)
	leave()
	r.Pipeline.Budget().Release(extra)
	// The events own copies of everything they need; Submit reserves
	// their own size.
	body.Release()
	if err != nil {
		r.log().Debug("otlp: malformed body", "signal", sig.name, "err", err)
		writeFailure(w, enc, errParse)
		return
	}
	rejected, reason, fail := r.accept(req.Context(), p, t)
	if fail != nil {
		writeFailure(w, enc, fail)
		return
	}
	out, err := sig.response(enc, rejected, reason)
	if err != nil {
		writeFailure(w, enc, errInternal)
		return
	}
	w.Header().Set("Content-Type", contentType(enc))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func contentType(enc encoding) string {
	if enc == encJSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

// bodyFailure maps a wire error to the OTLP answer.
func bodyFailure(err error) *failure {
	switch {
	case errors.Is(err, wire.ErrEmpty):
		return errEmpty
	case errors.Is(err, wire.ErrTooLarge):
		return errTooLarge
	case errors.Is(err, wire.ErrOverloaded):
		return errOverloaded
	case errors.Is(err, wire.ErrUnsupportedEncoding):
		return errEncoding
	case errors.Is(err, wire.ErrCorrupt):
		return errCorrupt
	}
	return errParse
}

// writeFailure answers with a google.rpc.Status in the request's encoding,
// as the OTLP/HTTP specification asks, and Retry-After on retryable errors.
func writeFailure(w http.ResponseWriter, enc encoding, f *failure) {
	st := &spb.Status{Code: int32(f.code), Message: f.msg}
	var body []byte
	if enc == encJSON {
		body, _ = protojson.Marshal(st)
	} else {
		body, _ = proto.Marshal(st)
	}
	if f.retry {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", contentType(enc))
	w.WriteHeader(f.http)
	_, _ = w.Write(body)
}
