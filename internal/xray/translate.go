package xray

import (
	"math"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// Column names of waggle's trace model that X-Ray segments fill (shared
// with OTLP spans) and X-Ray's own.
const (
	FTraceID       = "trace.trace_id"
	FSpanID        = "trace.span_id"
	FParentID      = "trace.parent_id"
	FName          = "name"
	FService       = "service.name"
	FDuration      = "duration_ms"
	FError         = "error"
	FFault         = "fault"
	FThrottle      = "throttle"
	FXRayError     = "xray.error"
	FKind          = "span.kind"
	FType          = "type"
	FSignal        = "meta.signal_type"
	FSource        = "meta.source"
	FAnnotation    = "meta.annotation_type"
	FXRayType      = "xray.type"
	FNamespace     = "xray.namespace"
	FInProgress    = "xray.in_progress"
	FInferred      = "xray.inferred"
	FOrigin        = "origin"
	FUser          = "user"
	FHTTPMethod    = "http.method"
	FHTTPURL       = "http.url"
	FHTTPStatus    = "http.status_code"
	FHTTPUserAgent = "http.user_agent"
	FHTTPClientIP  = "http.client_ip"
	FHTTPLength    = "http.response.content_length"
	FHTTPXFF       = "http.x_forwarded_for"
	FHTTPTraced    = "http.traced"
	FCause         = "xray.cause"
	FCauseID       = "xray.cause_id"
	FStatusCode    = "status_code"

	// AnnotationPrefix starts the column of each annotation:
	// annotation.<key>, typed (string, integer, float or boolean).
	AnnotationPrefix = "annotation."
	// MetadataPrefix starts the column of each metadata namespace:
	// metadata.<namespace>, the namespace's object as JSON text.
	MetadataPrefix = "metadata."
)

// SourceXRay is the meta.source of every event made from an X-Ray segment.
const SourceXRay = "xray"

// UnknownService is the dataset of a streamed subsegment whose segment never
// arrived.
const UnknownService = "unknown_service"

// Time converts X-Ray's epoch seconds to a time.
func Time(sec float64) time.Time {
	s, frac := math.Modf(sec)
	return time.Unix(int64(s), int64(math.Round(frac*1e9))).UTC()
}

// Translate turns a segment (or an independent subsegment) and everything
// nested in it into span events, one per entity. service is the name of the
// segment the entities belong to: the segment's own name for a segment, the
// enclosing segment's name for a streamed subsegment (UnknownService when it
// is not known). Every event goes to the dataset named like the service, as
// OTLP spans go to their service.name's dataset.
func Translate(s *Segment, service string, out []event.Event) []event.Event {
	if !s.IsSubsegment() {
		service = s.Name
	}
	if strings.TrimSpace(service) == "" {
		service = UnknownService
	}
	w3c, _ := ToW3C(s.TraceID)
	return translate(s, service, w3c, out)
}

func translate(s *Segment, service, w3c string, out []event.Event) []event.Event {
	f := make([]event.Field, 0, 24+len(s.Fields))
	add := func(k string, v event.Value) { f = append(f, event.Field{Key: k, Value: v}) }
	add(FTraceID, event.String(w3c))
	add(FSpanID, event.String(s.ID))
	if s.ParentID != "" {
		add(FParentID, event.String(s.ParentID))
	}
	add(FName, event.String(s.Name))
	add(FService, event.String(service))
	kind := "server"
	if s.IsSubsegment() {
		kind = "internal"
		if s.Namespace == "remote" || s.Namespace == "aws" {
			kind = "client"
		}
	}
	add(FType, event.String(kind))
	add(FKind, event.String(kind))
	xtype := "segment"
	if s.IsSubsegment() {
		xtype = "subsegment"
	}
	add(FXRayType, event.String(xtype))
	if s.Namespace != "" {
		add(FNamespace, event.String(s.Namespace))
	}
	end := s.End
	if s.InProgress {
		end = s.Start
		add(FInProgress, event.Bool(true))
	}
	dur := (end - s.Start) * 1000
	if dur < 0 || math.IsNaN(dur) {
		dur = 0
		add("meta.invalid_duration", event.Bool(true))
	}
	add(FDuration, event.Float(dur))
	add(FError, event.Bool(s.Fault || s.Error))
	if s.Fault {
		add(FFault, event.Bool(true))
	}
	if s.Error {
		add(FXRayError, event.Bool(true))
	}
	if s.Throttle {
		add(FThrottle, event.Bool(true))
	}
	code := int64(0)
	if s.Fault || s.Error {
		code = 2
	}
	add(FStatusCode, event.Int(code))
	add(FSignal, event.String("trace"))
	add(FSource, event.String(SourceXRay))
	if s.Origin != "" {
		add(FOrigin, event.String(s.Origin))
	}
	if s.User != "" {
		add(FUser, event.String(s.User))
	}
	if s.Inferred {
		add(FInferred, event.Bool(true))
	}
	if s.HTTPMethod != "" {
		add(FHTTPMethod, event.String(s.HTTPMethod))
	}
	if s.HTTPURL != "" {
		add(FHTTPURL, event.String(s.HTTPURL))
	}
	if s.HTTPUserAgent != "" {
		add(FHTTPUserAgent, event.String(s.HTTPUserAgent))
	}
	if s.HTTPClientIP != "" {
		add(FHTTPClientIP, event.String(s.HTTPClientIP))
	}
	if s.HTTPXForwardedFor {
		add(FHTTPXFF, event.Bool(true))
	}
	if s.HTTPTraced {
		add(FHTTPTraced, event.Bool(true))
	}
	if s.HasStatus {
		add(FHTTPStatus, event.Int(s.HTTPStatus))
	}
	if s.HasContentLength {
		add(FHTTPLength, event.Int(s.HTTPContentLength))
	}
	// Document-provided fields last; a duplicate key keeps the first.
	seen := make(map[string]bool, len(f)+len(s.Fields))
	for _, x := range f {
		seen[x.Key] = true
	}
	for _, x := range s.Fields {
		if seen[x.Key] || len(f) >= event.MaxFieldsPerEvent {
			continue
		}
		seen[x.Key] = true
		f = append(f, x)
	}
	out = append(out, event.Event{Time: Time(s.Start), Dataset: service, SampleRate: 1, Fields: f})
	for _, c := range s.Subsegments {
		out = translate(c, service, w3c, out)
	}
	return out
}
