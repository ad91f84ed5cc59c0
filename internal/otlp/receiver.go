package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Request headers (gRPC metadata keys) the receivers read.
const (
	teamHeader    = "x-honeycomb-team"
	datasetHeader = "x-honeycomb-dataset"
)

// MaxBodyBytes bounds an OTLP request, as sent and after decompression
// (husky's default of 20 MiB). gRPC messages have the same bound.
const MaxBodyBytes = 20 << 20

// parseFactor is how many bytes of decoded pdata a body byte is reckoned to
// cost; the receiver reserves that much of the ingest budget, on top of the
// body itself, while a request is decoded and translated.
const parseFactor = 3

// Receiver accepts OTLP traces, logs and metrics over HTTP and gRPC and hands
// their events to the ingest pipeline. It is safe for concurrent use.
type Receiver struct {
	Pipeline *ingest.Pipeline
	Auth     tenant.Authenticator
	// DatasetExists reports whether a dataset exists in an environment; a
	// key without create_datasets may only write into existing datasets.
	// Nil means every dataset is taken to exist.
	DatasetExists func(ctx context.Context, env event.EnvID, name string) (bool, error)
	Log           *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (r *Receiver) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Receiver) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// failure is a whole-request error, with its HTTP status and gRPC code.
type failure struct {
	http  int
	code  codes.Code
	msg   string
	retry bool // answer with Retry-After / RetryInfo
}

func (f *failure) Error() string { return f.msg }

// The errors of the receivers. The messages of missing headers, content
// types and unparseable bodies are Honeycomb's (husky's otlp/errors.go).
var (
	errContentType = &failure{http.StatusUnsupportedMediaType, codes.Unimplemented,
		"unsupported content-type, valid types are: application/protobuf, application/x-protobuf, application/json", false}
	errMissingKey     = &failure{http.StatusUnauthorized, codes.Unauthenticated, "missing 'x-honeycomb-team' header", false}
	errMissingDataset = &failure{http.StatusUnauthorized, codes.Unauthenticated, "missing 'x-honeycomb-dataset' header", false}
	errUnknownKey     = &failure{http.StatusUnauthorized, codes.Unauthenticated, "unknown API key - check your credentials", false}
	errNoPermission   = &failure{http.StatusUnauthorized, codes.PermissionDenied, "API key is missing the permission: " + string(tenant.PermSendEvents), false}
	errParse          = &failure{http.StatusBadRequest, codes.InvalidArgument, "failed to parse OTLP request body", false}
	errEmpty          = &failure{http.StatusBadRequest, codes.InvalidArgument, "request body should not be empty", false}
	errTooLarge       = &failure{http.StatusRequestEntityTooLarge, codes.InvalidArgument,
		fmt.Sprintf("request body is too large (the limit is %d bytes, compressed or not)", MaxBodyBytes), false}
	errEncoding   = &failure{http.StatusUnsupportedMediaType, codes.Unimplemented, "unsupported content-encoding, valid encodings are: gzip, zstd", false}
	errCorrupt    = &failure{http.StatusBadRequest, codes.InvalidArgument, "request body cannot be decompressed", false}
	errOverloaded = &failure{http.StatusTooManyRequests, codes.ResourceExhausted, "request dropped due to rate limiting; retry later", true}
	errColumns    = &failure{http.StatusBadRequest, codes.InvalidArgument, "dataset has too many columns", false}
	errInternal   = &failure{http.StatusServiceUnavailable, codes.Unavailable, "the server could not store the data; retry later", true}
)

// retryAfter is the Retry-After header value of retryable answers.
var retryAfter = strconv.Itoa(int((ingest.RetryAfter + time.Second - 1) / time.Second))

// classicKey reports whether key has the shape of a Honeycomb classic key
// (husky's IsClassicApiKey): with one, traces and metrics go to the dataset
// the x-honeycomb-dataset header names.
var (
	classicConfigKey = regexp.MustCompile(`^[0-9a-f]*$`)
	classicIngestKey = regexp.MustCompile(`^hc[a-z]ic_[0-9a-z]*$`)
)

func classicKey(key string) bool {
	switch len(key) {
	case 32:
		return classicConfigKey.MatchString(key)
	case 64:
		return classicIngestKey.MatchString(key)
	}
	return false
}

// authenticate resolves the key of a request.
func (r *Receiver) authenticate(ctx context.Context, key string) (*tenant.Principal, *failure) {
	if key == "" {
		return nil, errMissingKey
	}
	p, err := r.Auth.Authenticate(ctx, key)
	if err != nil {
		if errors.Is(err, tenant.ErrUnknownKey) {
			return nil, errUnknownKey
		}
		r.log().Error("otlp: authenticate", "err", err)
		return nil, errInternal
	}
	if !p.Can(tenant.PermSendEvents) {
		return nil, errNoPermission
	}
	return p, nil
}

// accept stores t's events for p, dropping (as rejected) those in datasets
// the key may not create, and returns the partial-success counts. It
// returns only once the events are durable.
func (r *Receiver) accept(ctx context.Context, p *tenant.Principal, t translation) (rejected int64, reason string, fail *failure) {
	events := t.events
	if !p.Can(tenant.PermCreateDatasets) && r.DatasetExists != nil && len(events) > 0 {
		exists := map[string]bool{}
		kept := events[:0:0]
		for _, ev := range events {
			ok, seen := exists[ev.Dataset]
			if !seen {
				var err error
				ok, err = r.DatasetExists(ctx, p.Env.ID, ev.Dataset)
				if err != nil {
					r.log().Error("otlp: look up dataset", "dataset", ev.Dataset, "err", err)
					return 0, "", errInternal
				}
				exists[ev.Dataset] = ok
			}
			if ok {
				kept = append(kept, ev)
			}
		}
		if n := len(events) - len(kept); n > 0 {
			var missing []string
			for ds, ok := range exists {
				if !ok {
					missing = append(missing, strconv.Quote(ds))
				}
			}
			sort.Strings(missing)
			t.reject(int64(n), fmt.Sprintf("dataset %s not found, and the key may not create datasets", missing[0]))
		}
		events = kept
	}
	if len(events) > 0 {
		err := r.Pipeline.Submit(ctx, event.Batch{Env: p.Env.ID, Events: events})
		switch {
		case err == nil:
		case errors.Is(err, ingest.ErrOverloaded):
			return 0, "", errOverloaded
		case errors.Is(err, store.ErrTooManyColumns):
			return 0, "", errColumns
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, ingest.ErrClosed):
			return 0, "", errInternal
		default:
			r.log().Error("otlp: submit", "events", len(events), "err", err)
			return 0, "", errInternal
		}
	}
	return t.rejected, t.reason, nil
}
