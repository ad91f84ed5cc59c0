"""Stand-in for OTLPSpanExporter (see the README of standins/): OTLP/HTTP,
JSON encoding (the real exporter sends protobuf) to
$OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces with $OTEL_EXPORTER_OTLP_HEADERS."""
import json
import os
import sys
import urllib.parse
import urllib.request


def _value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": str(v)}


def _attrs(d):
    return [{"key": k, "value": _value(v)} for k, v in d.items()]


class OTLPSpanExporter:
    def __init__(self, endpoint=None, headers=None):
        self.endpoint = endpoint or os.getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or \
            os.getenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318").rstrip("/") + "/v1/traces"
        self.headers = dict(headers or {})
        for pair in filter(None, os.getenv("OTEL_EXPORTER_OTLP_HEADERS", "").split(",")):
            k, _, v = pair.partition("=")
            self.headers[urllib.parse.unquote(k.strip())] = urllib.parse.unquote(v.strip())

    def export(self, provider, spans):
        scopes = {}
        for s in spans:
            scopes.setdefault((s.tracer.name, s.tracer.version), []).append({
                "traceId": s.trace_id, "spanId": s.span_id, "parentSpanId": s.parent_id,
                "name": s.name, "kind": s.kind,
                "startTimeUnixNano": str(s.start), "endTimeUnixNano": str(s.end_time),
                "attributes": _attrs(s.attributes),
                "events": [{"timeUnixNano": str(t), "name": n, "attributes": _attrs(a)} for t, n, a in s.events],
                "status": {"code": s.status_code, "message": s.status_message}})
        body = {"resourceSpans": [{
            "resource": {"attributes": _attrs({"service.name": provider.service_name,
                                               "telemetry.sdk.language": "python",
                                               "telemetry.sdk.name": "waggle-standin"})},
            "scopeSpans": [{"scope": {"name": n, "version": v}, "spans": ss} for (n, v), ss in scopes.items()]}]}
        req = urllib.request.Request(self.endpoint, data=json.dumps(body).encode(), method="POST",
                                     headers=dict(self.headers, **{"Content-Type": "application/json"}))
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                resp.read()
        except Exception as e:  # the real exporter logs and drops too
            print("otlp stand-in: export failed: %s" % e, file=sys.stderr)
