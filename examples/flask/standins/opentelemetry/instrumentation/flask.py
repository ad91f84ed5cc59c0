"""Stand-in for FlaskInstrumentor (see ../../README.md): one SERVER span per
request, named "METHOD route", child of an incoming W3C traceparent."""
import flask

from opentelemetry import trace


class FlaskInstrumentor:
    def instrument_app(self, app):
        tracer = trace.get_tracer("opentelemetry.instrumentation.flask")

        @app.before_request
        def _otel_before():
            r = flask.request
            parent = None
            tp = r.headers.get("traceparent", "").split("-")
            if len(tp) == 4 and len(tp[1]) == 32 and len(tp[2]) == 16:
                parent = (tp[1], tp[2])
            rule = r.url_rule.rule if r.url_rule else None
            span = tracer.start_span("%s %s" % (r.method, rule) if rule else r.method,
                                     trace.SpanKind.SERVER, parent or ())
            span.attributes.update({"http.method": r.method, "http.scheme": r.scheme,
                                    "http.host": r.host, "http.target": r.full_path.rstrip("?"),
                                    "http.user_agent": r.headers.get("User-Agent", ""),
                                    "net.peer.ip": r.remote_addr or ""})
            if rule:
                span.set_attribute("http.route", rule)
            r.environ["otel.span"] = span
            r.environ["otel.token"] = trace._current.set(span)

        @app.after_request
        def _otel_after(response):
            span = flask.request.environ.get("otel.span")
            if span is not None:
                span.set_attribute("http.status_code", response.status_code)
                if response.status_code >= 500:
                    span.set_status_error()
            return response

        def _end(env, exc):
            span = env.pop("otel.span", None)
            if span is None:
                return
            exc = exc or env.pop("otel.exception", None)
            if exc is not None:
                span.record_exception(exc)
                span.set_status_error("%s: %s" % (type(exc).__name__, exc))
            try:
                trace._current.reset(env.pop("otel.token"))
            except (ValueError, KeyError):
                pass
            span.end()

        @app.teardown_request
        def _otel_teardown(exc):
            _end(flask.request.environ, exc)

        # Teardown functions run in reverse order and stop at the first that
        # raises: XRayMiddleware 0.95's does when a view raised (2.x fixed
        # it), so the span is also ended around wsgi_app, with the exception
        # taken from got_request_exception.
        def _otel_exception(sender, exception, **kw):
            flask.request.environ["otel.exception"] = exception
        flask.got_request_exception.connect(_otel_exception, app, weak=False)
        wsgi_app = app.wsgi_app

        def _otel_wsgi(environ, start_response):
            try:
                return wsgi_app(environ, start_response)
            finally:
                _end(environ, environ.pop("otel.exception", None))
        app.wsgi_app = _otel_wsgi
