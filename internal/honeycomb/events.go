package honeycomb

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/tenant"
	"github.com/waggle-hq/waggle/internal/wire"
)

// The events API: POST /1/events/{dataset} takes one event, POST
// /1/batch/{dataset} an array of them. Both answer only once the accepted
// events are durable (ingest.Pipeline.Submit returned nil).
//
// Choices where Honeycomb's documentation leaves room:
//   - /1/events answers 200 with an empty body on success, as Refinery does
//     (Honeycomb's spec says 200, its prose an empty 202; clients only look
//     at the class of the status).
//   - /1/batch answers 200 with one {"status":202} or
//     {"status":400,"error":"…"} per input event, in input order, and always
//     as JSON: libhoney-go decodes JSON unless the response says msgpack.
//   - An unparseable event time means the time of receipt, an unusable
//     sample rate means 1 (as Refinery does).
//   - Event times follow store.ApplyTimePolicy: an event older than its
//     dataset's retention is acknowledged (202) and dropped, one more than
//     a day ahead is stored at the time of receipt with its own time in
//     meta.original_timestamp.
//   - The decoding rules for field values are listed in decode_build.go.
//   - Bodies are JSON unless Content-Type is application/msgpack or
//     application/x-msgpack, so curl's default form content type works.

// Body limits. Honeycomb documents 1 MB for a single event and libhoney
// clients split batches at 5,000,000 bytes; the decompressed cap stops zip
// bombs.
var (
	eventLimits = wire.Limits{MaxBytes: 1 << 20, MaxDecodedBytes: 1 << 20}
	batchLimits = wire.Limits{MaxBytes: 5 << 20, MaxDecodedBytes: 20 << 20}
)

// Request headers of the events API.
const (
	eventTimeHeader  = "X-Honeycomb-Event-Time"
	sampleRateHeader = "X-Honeycomb-Samplerate"
)

// registerEvents adds the events API: POST /1/events/{dataset} and
// POST /1/batch/{dataset}, with CORS for browser clients.
func (a *API) registerEvents(mux *http.ServeMux) {
	// {dataset...} also matches names holding a slash, so that they get
	// Honeycomb's JSON 404 rather than the mux's plain one.
	for _, route := range []struct {
		path string
		h    http.HandlerFunc
	}{
		{"/1/events/{dataset...}", a.handleEvent},
		{"/1/batch/{dataset...}", a.handleBatch},
	} {
		mux.Handle("POST "+route.path, eventsCORS.Wrap(route.h))
		mux.Handle("OPTIONS "+route.path, eventsCORS.Preflight())
	}
}

// handleEvent serves POST /1/events/{dataset}.
func (a *API) handleEvent(w http.ResponseWriter, r *http.Request) {
	p, dataset, ok := a.eventsPreamble(w, r)
	if !ok {
		return
	}
	body, err := wire.ReadRequest(r, eventLimits, a.Pipeline.Budget())
	if err != nil {
		a.writeBodyError(w, r, err)
		return
	}
	defer body.Release()

	opt := decodeOptions{
		Dataset:    dataset,
		Now:        a.Now().UTC(),
		SampleRate: 1,
	}
	if opt.ExpandDepth, ok = a.eventsExpandDepth(w, r, p, dataset); !ok {
		return
	}
	if h := r.Header.Get(eventTimeHeader); h != "" {
		opt.Time, _ = wire.ParseTime(h)
	}
	if h := r.Header.Get(sampleRateHeader); h != "" {
		opt.SampleRate = parseSampleRate(strings.TrimSpace(h))
	}
	leave, err := a.Pipeline.DecodeGate().Enter(r.Context())
	if err != nil {
		return // the client went away
	}
	var ev event.Event
	var code eventCode
	if isMsgpack(r) {
		ev, code = decodeEventMsgpack(body.Bytes(), opt)
	} else {
		ev, code = decodeEventJSON(body.Bytes(), opt)
	}
	leave()
	// The decoded event owns copies of everything it needs: the body's
	// memory is free, and Submit reserves the event's own size.
	body.Release()
	if code != codeOK {
		writeError(w, http.StatusBadRequest, code.message())
		return
	}
	evs := a.applyTimePolicy(r.Context(), p.Env.ID, []event.Event{ev}, opt.Now)
	if !a.submit(w, r, event.Batch{Env: p.Env.ID, Events: evs}) {
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleBatch serves POST /1/batch/{dataset}.
func (a *API) handleBatch(w http.ResponseWriter, r *http.Request) {
	p, dataset, ok := a.eventsPreamble(w, r)
	if !ok {
		return
	}
	body, err := wire.ReadRequest(r, batchLimits, a.Pipeline.Budget())
	if err != nil {
		a.writeBodyError(w, r, err)
		return
	}
	defer body.Release()

	opt := decodeOptions{Dataset: dataset, Now: a.Now().UTC()}
	if opt.ExpandDepth, ok = a.eventsExpandDepth(w, r, p, dataset); !ok {
		return
	}
	leave, err := a.Pipeline.DecodeGate().Enter(r.Context())
	if err != nil {
		return // the client went away
	}
	var res decodedBatch
	if isMsgpack(r) {
		res, err = decodeBatchMsgpack(body.Bytes(), opt)
	} else {
		res, err = decodeBatchJSON(body.Bytes(), opt)
	}
	leave()
	// The decoded events own copies of everything they need: the body's
	// memory is free, and Submit reserves the events' own size.
	body.Release()
	if err != nil {
		a.Log.Debug("honeycomb batch: malformed body", "dataset", dataset, "err", err)
		writeError(w, http.StatusBadRequest, msgMalformed)
		return
	}
	res.Events = a.applyTimePolicy(r.Context(), p.Env.ID, res.Events, opt.Now)
	if !a.submit(w, r, event.Batch{Env: p.Env.ID, Events: res.Events}) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(appendStatuses(make([]byte, 0, 16*len(res.Codes)+2), res.Codes))
}

// eventsPreamble authenticates the request and resolves the dataset from
// the path. On failure it has written the response.
func (a *API) eventsPreamble(w http.ResponseWriter, r *http.Request) (*tenant.Principal, string, bool) {
	p := a.authenticate(w, r, tenant.PermSendEvents)
	if p == nil {
		return nil, "", false
	}
	dataset, ok := a.eventsDataset(w, r, p)
	return p, dataset, ok
}

// eventsDataset returns the dataset named in the path. The name is
// URL-decoded and case-insensitive; it may not hold a slash, not even an
// encoded one. A dataset that does not exist is created by the store on
// write when the key may create datasets; otherwise it is a 404.
func (a *API) eventsDataset(w http.ResponseWriter, r *http.Request, p *tenant.Principal) (string, bool) {
	name := r.PathValue("dataset")
	if _, err := event.Slug(name); err != nil || strings.Contains(name, "/") {
		writeError(w, http.StatusNotFound, msgNotFound)
		return "", false
	}
	if p.Can(tenant.PermCreateDatasets) {
		return name, true
	}
	_, err := a.Store.Dataset(r.Context(), p.Env.ID, name)
	switch {
	case err == nil:
		return name, true
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, msgNotFound)
	default:
		a.Log.Error("honeycomb events: look up dataset", "dataset", name, "err", err)
		writeUnavailable(w)
	}
	return "", false
}

// eventsExpandDepth returns the dataset's expand_json_depth. On failure it
// has written the response.
func (a *API) eventsExpandDepth(w http.ResponseWriter, r *http.Request, p *tenant.Principal, dataset string) (int, bool) {
	d, err := a.expandDepth(r.Context(), p.Env.ID, dataset)
	if err != nil {
		a.Log.Error("honeycomb events: read dataset settings", "dataset", dataset, "err", err)
		writeUnavailable(w)
		return 0, false
	}
	return d, true
}

// submit hands b to the pipeline and waits until it is durable. On failure it
// writes the error response and returns false.
func (a *API) submit(w http.ResponseWriter, r *http.Request, b event.Batch) bool {
	if len(b.Events) == 0 {
		return true
	}
	err := a.Pipeline.Submit(r.Context(), b)
	switch {
	case err == nil:
		return true
	case errors.Is(err, ingest.ErrOverloaded):
		writeRateLimited(w)
	case errors.Is(err, store.ErrTooManyColumns):
		writeError(w, http.StatusBadRequest, msgDatasetColumns)
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
		writeUnavailable(w)
	default:
		a.Log.Error("honeycomb events: submit", "events", len(b.Events), "err", err)
		writeUnavailable(w)
	}
	return false
}

// writeBodyError answers a body that could not be read.
func (a *API) writeBodyError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, wire.ErrEmpty):
		writeError(w, http.StatusBadRequest, msgEmpty)
	case errors.Is(err, wire.ErrTooLarge):
		writeError(w, http.StatusBadRequest, msgTooLarge)
	case errors.Is(err, wire.ErrOverloaded):
		writeRateLimited(w)
	default:
		a.Log.Debug("honeycomb events: unreadable body", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusBadRequest, msgMalformed)
	}
}

// retryAfter is the Retry-After header value for overloaded answers.
var retryAfter = strconv.Itoa(int((ingest.RetryAfter + time.Second - 1) / time.Second))

// writeRateLimited answers 429 as Honeycomb does, with Retry-After, which
// libhoney clients honour.
func writeRateLimited(w http.ResponseWriter) {
	w.Header().Set("Retry-After", retryAfter)
	writeError(w, http.StatusTooManyRequests, msgRateLimited)
}

// writeUnavailable answers 503 with Retry-After; libhoney clients retry it.
func writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", retryAfter)
	writeError(w, http.StatusServiceUnavailable, msgUnavailable)
}

// isMsgpack reports whether the request body is msgpack.
func isMsgpack(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	return strings.EqualFold(ct, "application/msgpack") || strings.EqualFold(ct, "application/x-msgpack")
}

// appendStatuses appends the batch response: one status object per input
// event, in input order.
func appendStatuses(dst []byte, codes []eventCode) []byte {
	dst = append(dst, '[')
	for i, c := range codes {
		if i > 0 {
			dst = append(dst, ',')
		}
		if c == codeOK {
			dst = append(dst, `{"status":202}`...)
			continue
		}
		dst = append(dst, `{"status":400,"error":"`...)
		dst = append(dst, c.message()...) // messages need no escaping
		dst = append(dst, `"}`...)
	}
	return append(dst, ']')
}
