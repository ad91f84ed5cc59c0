# Cruddur's backend-flask app.py from week 2 (distributed tracing) with every
# instrumentation of the week: Honeycomb (OpenTelemetry), AWS X-Ray,
# CloudWatch Logs (watchtower) and Rollbar. The lines marked "waggle:" are the
# only ones that differ from the Honeycomb/AWS/Rollbar version; everything
# else is configured through the environment (docs/guides/flask.md).
#
# This file is the listing in docs/guides/flask.md, and it is what
# internal/server/flask_guide_test.go runs against a waggle server.
import os
import logging
from time import strftime

from flask import Flask, request, got_request_exception

# Honeycomb -----------------------------------------------------------------
from opentelemetry import trace
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

# X-Ray ---------------------------------------------------------------------
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.ext.flask.middleware import XRayMiddleware

# CloudWatch Logs -----------------------------------------------------------
import boto3
import watchtower

# Rollbar -------------------------------------------------------------------
import rollbar
import rollbar.contrib.flask

# Honeycomb: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS and
# OTEL_SERVICE_NAME come from the environment.
provider = TracerProvider()
processor = BatchSpanProcessor(OTLPSpanExporter())
provider.add_span_processor(processor)
trace.set_tracer_provider(provider)
tracer = trace.get_tracer(__name__)

# CloudWatch Logs: configuring Logger to use CloudWatch.
LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.DEBUG)
console_handler = logging.StreamHandler()
cw_handler = watchtower.CloudWatchLogHandler(
    log_group_name='cruddur',
    # waggle: a logs client pointed at waggle (or AWS_ENDPOINT_URL_CLOUDWATCH_LOGS)
    boto3_client=boto3.client(
        "logs",
        endpoint_url=os.getenv("WAGGLE_URL", "http://localhost:8080"),
        region_name=os.getenv("AWS_DEFAULT_REGION", "us-east-1")))
LOGGER.addHandler(console_handler)
LOGGER.addHandler(cw_handler)
LOGGER.info("some message")

app = Flask(__name__)

# Honeycomb: automatic instrumentation with Flask.
FlaskInstrumentor().instrument_app(app)
RequestsInstrumentor().instrument()

# X-Ray: AWS_XRAY_DAEMON_ADDRESS comes from the environment.
xray_url = os.getenv("AWS_XRAY_URL")
xray_recorder.configure(service='Cruddur', dynamic_naming=xray_url)
XRayMiddleware(app, xray_recorder)

# Rollbar
rollbar_access_token = os.getenv('ROLLBAR_ACCESS_TOKEN')
@app.before_first_request
def init_rollbar():
    """init rollbar module"""
    rollbar.init(
        # access token
        rollbar_access_token,
        # environment name
        'production',
        # server root directory, makes tracebacks prettier
        root=os.path.dirname(os.path.realpath(__file__)),
        # flask already sets up logging
        allow_logging_basic_config=False,
        # waggle: the only change (it must end in /api/1/)
        endpoint=os.getenv('ROLLBAR_ENDPOINT', 'http://localhost:8080/api/1/'))

    # send exceptions from `app` to rollbar, using flask's signal system.
    got_request_exception.connect(rollbar.contrib.flask.report_exception, app)


@app.after_request
def after_request(response):
    timestamp = strftime('[%Y-%b-%d %H:%M]')
    LOGGER.error('%s %s %s %s %s %s', timestamp, request.remote_addr, request.method,
                 request.scheme, request.full_path, response.status)
    return response


@app.route("/api/activities/home", methods=['GET'])
def data_home():
    with tracer.start_as_current_span("home-activities-mock-data") as span:
        LOGGER.info("HomeActivities")
        span.set_attribute("app.result_length", 2)
        subsegment = xray_recorder.begin_subsegment('mock-data')
        subsegment.put_annotation('result_length', 2)
        xray_recorder.end_subsegment()
        return [{"handle": "Andrew Brown", "message": "Cloud is fun!"},
                {"handle": "Worf", "message": "I am out of prune juice"}]


@app.route("/api/boom", methods=['GET'])
def boom():
    raise ValueError("kaboom")


@app.route('/rollbar/test')
def rollbar_test():
    rollbar.report_message('Hello World!', 'warning')
    return "Hello World!"


if __name__ == "__main__":
    app.run(host=os.getenv("HOST", "0.0.0.0"), port=int(os.getenv("PORT", "4567")),
            threaded=True)
