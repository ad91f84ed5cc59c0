// Package traceapi is waggle's trace API: whole traces by id, and trace
// search, over every dataset of the caller's environment. It knows no ingest
// protocol: a span is any event with trace.trace_id and trace.span_id (as
// OTLP, Honeycomb beelines and, later, X-Ray produce them), and the API is
// built on store.Trace and on the query engine.
//
// Both routes need an API key with run_queries in X-Honeycomb-Team. Errors
// are {"error": "…"} with 400 (bad parameters), 401 (key), 404 (no such
// trace) or 503.
//
// # GET /api/v1/traces/{traceId}
//
// traceId is a W3C trace id (32 hex digits, any case) or a 16-digit 64-bit
// id. Ids are normalised as OTLP ingest stores them: lower case, and a
// 32-digit id whose first 16 digits are zero is shortened to its last 16.
// The answer:
//
//	{
//	  "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
//	  "start": "2026-01-02T03:04:05.123456789Z",   // earliest span start
//	  "end": "…",                                   // latest span end
//	  "duration_ms": 12.5,                          // end - start
//	  "span_count": 3, "error_count": 1,
//	  "services": ["checkout", "payments"],         // sorted
//	  "root_span_ids": ["00f067aa0ba902b7"],        // spans whose parent is not in the trace
//	  "spans": [{                                   // ordered by start time
//	    "span_id": "00f067aa0ba902b7",
//	    "parent_id": "",                            // "" for a root
//	    "name": "GET /cart", "service": "checkout", "dataset": "checkout",
//	    "start": "…", "duration_ms": 12.5, "error": false,
//	    "samplerate": 1,
//	    "fields": {…every column of the span…},
//	    "events": [{"time": "…", "name": "exception", "samplerate": 1, "fields": {…}}],
//	    "links":  [{"time": "…", "trace_id": "…", "span_id": "…", "samplerate": 1, "fields": {…}}]
//	  }],
//	  "logs":   [{"time": "…", "dataset": "…", "samplerate": 1, "fields": {…}}],
//	  "events": [{"time": "…", "dataset": "…", "samplerate": 1, "fields": {…}}]
//	}
//
// "logs" are events with meta.signal_type "log" carrying the trace id;
// "events" is everything else carrying it that is neither a span, a span
// event nor a link of a span of the trace (errors that other protocols link
// to the trace, span events whose span is missing, plain Honeycomb events).
// Arrays are never null.
//
// # GET /api/v1/traces
//
// Searches root spans (spans without trace.parent_id) that started in a time
// window. Parameters, all optional:
//
//	start, end       RFC 3339 or Unix seconds; default: the last time_range
//	time_range       seconds, default 7200, when start or end is missing
//	service          root span's service.name equals
//	name             root span's name equals
//	min_duration_ms  root span's duration_ms >= (the trace's duration)
//	max_duration_ms  root span's duration_ms <=
//	error            true: traces with at least one span with error = true;
//	                 false: traces without any
//	where            repeatable "column op value" on the root span, with the
//	                 query spec's operators (=, !=, >, >=, <, <=, exists,
//	                 does-not-exist, starts-with, contains, in, …); the value
//	                 is the rest of the text (in/not-in: comma-separated,
//	                 quotes optional), e.g. where=http.status_code >= 500
//	limit            1..1000, default 50
//
// The answer, newest first:
//
//	{"start": "…", "end": "…", "traces": [{
//	  "trace_id": "…", "root_service": "checkout", "root_name": "GET /cart",
//	  "root_dataset": "checkout", "start": "…", "duration_ms": 12.5,
//	  "span_count": 3, "error_count": 1, "services": ["checkout", "payments"]}]}
//
// Counts are of spans (not span events or links), unweighted by sample
// rate, and of spans that started up to an hour after the window's end.
package traceapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Tracer returns a trace's events; store.Store satisfies it.
type Tracer interface {
	Trace(ctx context.Context, env event.EnvID, traceID string) ([]query.RawEvent, error)
}

// API serves the trace routes.
type API struct {
	Store  Tracer
	Engine *query.Engine
	// Catalog lists the environment's columns, so that search leaves out
	// structural filters on columns no dataset has yet.
	Catalog query.Catalog
	Auth    tenant.Authenticator
	Log     *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Register mounts GET /api/v1/traces and GET /api/v1/traces/{traceId}.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/traces", a.handleSearch)
	mux.HandleFunc("GET /api/v1/traces/{$}", a.handleSearch)
	mux.HandleFunc("GET /api/v1/traces/{traceId}", a.handleTrace)
}

func (a *API) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) authenticate(w http.ResponseWriter, r *http.Request) *tenant.Principal {
	secret := r.Header.Get("X-Honeycomb-Team")
	if secret == "" {
		secret = r.Header.Get("X-Hny-Team")
	}
	p, err := a.Auth.Authenticate(r.Context(), secret)
	if err != nil {
		if errors.Is(err, tenant.ErrUnknownKey) {
			writeError(w, http.StatusUnauthorized, "unknown API key - check your credentials")
			return nil
		}
		a.log().Error("traceapi: authenticate", "err", err)
		writeError(w, http.StatusServiceUnavailable, "internal error")
		return nil
	}
	if !p.Can(tenant.PermRunQueries) {
		writeError(w, http.StatusUnauthorized, "API key is missing the permission: "+string(tenant.PermRunQueries))
		return nil
	}
	return p
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// NormalizeTraceID returns id as OTLP ingest stores trace ids: lower-case
// hex, a 32-digit id with 16 leading zeros shortened to 16 digits. ok is
// false unless id is 16 or 32 hex digits.
func NormalizeTraceID(id string) (string, bool) {
	if len(id) != 16 && len(id) != 32 {
		return "", false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return "", false
		}
	}
	id = strings.ToLower(id)
	if len(id) == 32 && id[:16] == "0000000000000000" {
		id = id[16:]
	}
	return id, true
}

// Field names the API reads.
const (
	fTraceID     = "trace.trace_id"
	fSpanID      = "trace.span_id"
	fParentID    = "trace.parent_id"
	fName        = "name"
	fService     = "service.name"
	fDuration    = "duration_ms"
	fError       = "error"
	fAnnotation  = "meta.annotation_type"
	fSignal      = "meta.signal_type"
	fLinkTraceID = "trace.link.trace_id"
	fLinkSpanID  = "trace.link.span_id"
)

// Span is one span of a trace.
type Span struct {
	SpanID     string         `json:"span_id"`
	ParentID   string         `json:"parent_id"`
	Name       string         `json:"name"`
	Service    string         `json:"service"`
	Dataset    string         `json:"dataset"`
	Start      time.Time      `json:"start"`
	DurationMs float64        `json:"duration_ms"`
	Error      bool           `json:"error"`
	SampleRate int64          `json:"samplerate"`
	Fields     map[string]any `json:"fields"`
	Events     []SpanEvent    `json:"events"`
	Links      []Link         `json:"links"`
}

// SpanEvent is a span event nested in its span.
type SpanEvent struct {
	Time       time.Time      `json:"time"`
	Name       string         `json:"name"`
	SampleRate int64          `json:"samplerate"`
	Fields     map[string]any `json:"fields"`
}

// Link is a span link nested in its span.
type Link struct {
	Time       time.Time      `json:"time"`
	TraceID    string         `json:"trace_id"`
	SpanID     string         `json:"span_id"`
	SampleRate int64          `json:"samplerate"`
	Fields     map[string]any `json:"fields"`
}

// Event is an event of the trace that is not part of a span.
type Event struct {
	Time       time.Time      `json:"time"`
	Dataset    string         `json:"dataset"`
	SampleRate int64          `json:"samplerate"`
	Fields     map[string]any `json:"fields"`
}

// Trace is the answer of GET /api/v1/traces/{traceId}.
type Trace struct {
	TraceID     string    `json:"trace_id"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	DurationMs  float64   `json:"duration_ms"`
	SpanCount   int       `json:"span_count"`
	ErrorCount  int       `json:"error_count"`
	Services    []string  `json:"services"`
	RootSpanIDs []string  `json:"root_span_ids"`
	Spans       []*Span   `json:"spans"`
	Logs        []Event   `json:"logs"`
	Events      []Event   `json:"events"`
}

func (a *API) handleTrace(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r)
	if p == nil {
		return
	}
	id, ok := NormalizeTraceID(r.PathValue("traceId"))
	if !ok {
		writeError(w, http.StatusBadRequest, "trace id must be 32 (W3C) or 16 hexadecimal digits")
		return
	}
	evs, err := a.Store.Trace(r.Context(), p.Env.ID, id)
	if err != nil {
		a.log().Error("traceapi: trace", "trace", id, "err", err)
		writeError(w, http.StatusServiceUnavailable, "could not read the trace; retry later")
		return
	}
	if len(evs) == 0 {
		writeError(w, http.StatusNotFound, "trace not found")
		return
	}
	writeJSON(w, http.StatusOK, Assemble(id, evs))
}

func fieldMap(fs []event.Field) map[string]any {
	m := make(map[string]any, len(fs))
	for _, f := range fs {
		m[f.Key] = f.Value.Any()
	}
	return m
}

func get(fs []event.Field, key string) event.Value {
	for _, f := range fs {
		if f.Key == key {
			return f.Value
		}
	}
	return event.Value{}
}

func getStr(fs []event.Field, key string) string {
	v := get(fs, key)
	if v.IsNull() {
		return ""
	}
	return v.Text()
}

// Assemble builds a trace from its events (ordered by time).
func Assemble(traceID string, evs []query.RawEvent) *Trace {
	t := &Trace{TraceID: traceID, Services: []string{}, RootSpanIDs: []string{}, Spans: []*Span{}, Logs: []Event{}, Events: []Event{}}
	byID := map[string]*Span{}
	var annotations []query.RawEvent
	services := map[string]bool{}
	for _, ev := range evs {
		fs := ev.Fields
		ann := getStr(fs, fAnnotation)
		signal := getStr(fs, fSignal)
		switch {
		case signal == "log":
			t.Logs = append(t.Logs, Event{Time: ev.Time, Dataset: ev.Dataset, SampleRate: ev.SampleRate, Fields: fieldMap(fs)})
		case ann == "span_event" || ann == "link":
			annotations = append(annotations, ev)
		case getStr(fs, fSpanID) != "" && (signal == "" || signal == "trace"):
			s := &Span{
				SpanID:     getStr(fs, fSpanID),
				ParentID:   getStr(fs, fParentID),
				Name:       getStr(fs, fName),
				Service:    getStr(fs, fService),
				Dataset:    ev.Dataset,
				Start:      ev.Time,
				DurationMs: get(fs, fDuration).Float(),
				Error:      get(fs, fError).Bool(),
				SampleRate: ev.SampleRate,
				Fields:     fieldMap(fs),
				Events:     []SpanEvent{},
				Links:      []Link{},
			}
			t.Spans = append(t.Spans, s)
			if _, dup := byID[s.SpanID]; !dup {
				byID[s.SpanID] = s
			}
			if s.Service != "" {
				services[s.Service] = true
			}
			if s.Error {
				t.ErrorCount++
			}
			end := s.Start.Add(time.Duration(s.DurationMs * float64(time.Millisecond)))
			if t.Start.IsZero() || s.Start.Before(t.Start) {
				t.Start = s.Start
			}
			if end.After(t.End) {
				t.End = end
			}
		default:
			t.Events = append(t.Events, Event{Time: ev.Time, Dataset: ev.Dataset, SampleRate: ev.SampleRate, Fields: fieldMap(fs)})
		}
	}
	for _, ev := range annotations {
		fs := ev.Fields
		s := byID[getStr(fs, fParentID)]
		if s == nil {
			t.Events = append(t.Events, Event{Time: ev.Time, Dataset: ev.Dataset, SampleRate: ev.SampleRate, Fields: fieldMap(fs)})
			continue
		}
		if getStr(fs, fAnnotation) == "link" {
			s.Links = append(s.Links, Link{Time: ev.Time, TraceID: getStr(fs, fLinkTraceID), SpanID: getStr(fs, fLinkSpanID),
				SampleRate: ev.SampleRate, Fields: fieldMap(fs)})
		} else {
			s.Events = append(s.Events, SpanEvent{Time: ev.Time, Name: getStr(fs, fName), SampleRate: ev.SampleRate, Fields: fieldMap(fs)})
		}
	}
	for _, s := range t.Spans {
		if s.ParentID == "" || byID[s.ParentID] == nil {
			t.RootSpanIDs = append(t.RootSpanIDs, s.SpanID)
		}
	}
	t.SpanCount = len(t.Spans)
	for s := range services {
		t.Services = append(t.Services, s)
	}
	sort.Strings(t.Services)
	if !t.Start.IsZero() {
		t.DurationMs = float64(t.End.Sub(t.Start)) / float64(time.Millisecond)
	} else if len(evs) > 0 {
		t.Start, t.End = evs[0].Time, evs[len(evs)-1].Time
	}
	return t
}
