# The seed's Flask app (week 2, distributed tracing) with the X-Ray middleware
# exactly as the seed wires it; run by internal/server/xray_flask_test.go with
# Debian's python3-aws-xray-sdk and python3-flask (/usr/bin/python3).
#
#   AWS_XRAY_DAEMON_ADDRESS  waggle's daemon address (read when the SDK is imported)
#   AWS_XRAY_URL             the dynamic-naming host pattern
#   PORT                     the loopback port to serve on
import logging
import os
import sys

from flask import Flask

logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                    format="%(levelname)s %(name)s: %(message)s")

app = Flask(__name__)

# --- the seed's code, verbatim ---
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.ext.flask.middleware import XRayMiddleware

xray_url = os.getenv("AWS_XRAY_URL")
xray_recorder.configure(service='Cruddur', dynamic_naming=xray_url)
XRayMiddleware(app, xray_recorder)
# --- end of the seed's code ---


@app.route("/api/activities/home")
def home():
    return {"activities": ["a", "b"]}


@xray_recorder.capture('load-activities')
def load_activities():
    raise ValueError("kaboom")


@app.route("/api/boom")
def boom():
    # Raises out of the view; the captured function records the exception
    # on its subsegment.
    return {"activities": load_activities()}


@app.route("/api/many")
def many():
    # More subsegments than the SDK keeps (30): closed ones are streamed as
    # independent subsegment documents before the segment ends.
    for i in range(40):
        xray_recorder.begin_subsegment('step-%d' % i)
        xray_recorder.end_subsegment()
    return {"steps": 40}


@app.route("/api/activities/<handle>")
def user_activities(handle):
    # As the seed's user_activities service: a custom subsegment with an
    # annotation and metadata.
    subsegment = xray_recorder.begin_subsegment('mock-data')
    subsegment.put_annotation('handle', handle)
    subsegment.put_annotation('count', 3)
    subsegment.put_metadata('results', {'handle': handle, 'n': 3}, 'app')
    xray_recorder.end_subsegment()
    return {"handle": handle}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]), threaded=True)
