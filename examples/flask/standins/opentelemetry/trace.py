"""Stand-in for opentelemetry.trace (see ../README.md)."""
import contextvars

_provider = None
_current = contextvars.ContextVar("otel_standin_current_span", default=None)


class SpanKind:
    INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = 1, 2, 3, 4, 5


def set_tracer_provider(provider):
    global _provider
    _provider = provider


def get_tracer_provider():
    return _provider


def get_tracer(name, version=None):
    return _provider.get_tracer(name, version)


def get_current_span():
    return _current.get()
