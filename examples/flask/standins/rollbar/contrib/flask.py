"""Stand-in for rollbar.contrib.flask (see ../../README.md)."""
import flask

import rollbar


def report_exception(app, exception):
    rollbar.report_exc_info((type(exception), exception, exception.__traceback__), request=flask.request)
