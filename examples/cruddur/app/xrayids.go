package app

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// How one request becomes one trace in both worlds
//
// The OpenTelemetry span is the outer one (otelhttp), the X-Ray segment its
// child (xray.Handler):
//
//  1. xrayIDGenerator gives OTel trace ids X-Ray accepts: the first 4 bytes
//     are the Unix time in seconds, the other 12 random. Such an id is an
//     X-Ray id written differently: 5f84c7a1 0123456789abcdef01234567 (W3C)
//     is 1-5f84c7a1-0123456789abcdef01234567 (X-Ray). waggle stores both
//     spellings as the same W3C trace.trace_id.
//  2. xrayPropagator reads an incoming X-Amzn-Trace-Id (an ALB or an X-Ray
//     instrumented caller) so otelhttp continues that trace, and writes the
//     current OTel span as X-Amzn-Trace-Id: Root=1-…;Parent=<otel span
//     id>;Sampled=1.
//  3. bridgeXRay, between otelhttp and xray.Handler, injects the server span
//     into the request's X-Amzn-Trace-Id header; xray.Handler reads that
//     header, so its segment has the OTel trace id and the OTel span as
//     parent_id, and is sampled whenever the OTel span is.
//
// This is the same arrangement as the AWS Distro for OpenTelemetry's X-Ray
// id generator and propagator, written out here (the contrib module that
// had them is deprecated).

// xrayIDGenerator makes X-Ray compatible trace ids (time-prefixed).
type xrayIDGenerator struct{}

func (xrayIDGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	binary.BigEndian.PutUint32(tid[:4], uint32(time.Now().Unix()))
	_, _ = crand.Read(tid[4:])
	return tid, xrayIDGenerator{}.NewSpanID(ctx, tid)
}

func (xrayIDGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		_, _ = crand.Read(sid[:])
	}
	return sid
}

const xrayHeader = "X-Amzn-Trace-Id"

// xrayPropagator is a TextMapPropagator for the X-Amzn-Trace-Id header.
type xrayPropagator struct{}

var _ propagation.TextMapPropagator = xrayPropagator{}

func (xrayPropagator) Fields() []string { return []string{xrayHeader} }

// Inject writes sc as Root=1-…;Parent=…;Sampled=0|1.
func (xrayPropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	carrier.Set(xrayHeader, xrayHeaderValue(sc))
}

func xrayHeaderValue(sc trace.SpanContext) string {
	sampled := "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	return "Root=" + XRayTraceID(sc.TraceID()) + ";Parent=" + sc.SpanID().String() + ";Sampled=" + sampled
}

// Extract reads Root and Parent (and Sampled) into a remote span context.
func (xrayPropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	v := carrier.Get(xrayHeader)
	if v == "" {
		return ctx
	}
	var root, parent, sampled string
	for _, part := range strings.Split(v, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.ToLower(k) {
		case "root":
			root = val
		case "parent":
			parent = val
		case "sampled":
			sampled = val
		}
	}
	// 1-5f84c7a1-0123456789abcdef01234567
	if len(root) != 35 || !strings.HasPrefix(root, "1-") || root[10] != '-' {
		return ctx
	}
	tid, err := trace.TraceIDFromHex(root[2:10] + root[11:])
	if err != nil {
		return ctx
	}
	sid, err := trace.SpanIDFromHex(parent)
	if err != nil {
		return ctx // a Root without Parent starts a new span in the same trace: no remote parent to name
	}
	cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid, Remote: true}
	if sampled != "0" {
		cfg.TraceFlags = trace.FlagsSampled
	}
	return trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(cfg))
}

// XRayTraceID writes a W3C trace id the X-Ray way: 1-<8 hex>-<24 hex>.
func XRayTraceID(t trace.TraceID) string {
	h := hex.EncodeToString(t[:])
	return "1-" + h[:8] + "-" + h[8:]
}
