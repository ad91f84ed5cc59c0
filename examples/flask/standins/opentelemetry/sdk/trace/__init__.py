"""Stand-in for opentelemetry.sdk.trace (see ../../../README.md)."""
import atexit
import contextlib
import os
import secrets
import time
import traceback

from opentelemetry import trace as _api


class Span:
    def __init__(self, tracer, name, kind, trace_id, parent_id):
        self.tracer, self.name, self.kind = tracer, name, kind
        self.trace_id, self.parent_id = trace_id, parent_id
        self.span_id = secrets.token_hex(8)
        self.start = time.time_ns()
        self.end_time = None
        self.attributes, self.events = {}, []
        self.status_code, self.status_message = 0, ""

    def set_attribute(self, key, value):
        self.attributes[key] = value

    def set_status_error(self, message=""):
        self.status_code, self.status_message = 2, message

    def record_exception(self, exc):
        self.events.append((time.time_ns(), "exception", {
            "exception.type": type(exc).__name__,
            "exception.message": str(exc),
            "exception.stacktrace": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            "exception.escaped": "False"}))

    def end(self):
        if self.end_time is None:
            self.end_time = time.time_ns()
            self.tracer.provider._on_end(self)


class Tracer:
    def __init__(self, provider, name, version):
        self.provider, self.name, self.version = provider, name, version or ""

    def start_span(self, name, kind=_api.SpanKind.INTERNAL, parent=None):
        """parent: a Span, a (trace_id, span_id) pair, or None for the current span."""
        if parent is None:
            parent = _api.get_current_span()
        if isinstance(parent, Span):
            parent = (parent.trace_id, parent.span_id)
        trace_id, parent_id = parent if parent else (secrets.token_hex(16), "")
        return Span(self, name, kind, trace_id, parent_id)

    @contextlib.contextmanager
    def start_as_current_span(self, name, kind=_api.SpanKind.INTERNAL, parent=None):
        span = self.start_span(name, kind, parent)
        token = _api._current.set(span)
        try:
            yield span
        except BaseException as e:
            span.record_exception(e)
            span.set_status_error("%s: %s" % (type(e).__name__, e))
            raise
        finally:
            _api._current.reset(token)
            span.end()


class TracerProvider:
    def __init__(self, shutdown_on_exit=True):
        self.service_name = os.getenv("OTEL_SERVICE_NAME") or "unknown_service"
        self.processors = []
        if shutdown_on_exit:
            atexit.register(self.shutdown)

    def get_tracer(self, name, version=None):
        return Tracer(self, name, version)

    def add_span_processor(self, processor):
        processor.provider = self
        self.processors.append(processor)

    def _on_end(self, span):
        for p in self.processors:
            p.on_end(span)

    def shutdown(self):
        for p in self.processors:
            p.shutdown()
