"""Stand-in for pyrollbar (see ../README.md): init, report_message and
report_exc_info post the item payload pyrollbar posts to endpoint + "item/"."""
import json
import os
import platform
import socket
import sys
import time
import traceback
import urllib.parse
import urllib.request
import uuid

SETTINGS = {"access_token": None, "environment": "production", "root": None,
            "endpoint": "https://api.rollbar.com/api/1/", "timeout": 3}


def init(access_token, environment="production", **kw):
    SETTINGS.update(kw, access_token=access_token, environment=environment)


def _request_data(request):
    if request is None:
        try:
            import flask
            if not flask.has_request_context():
                return None
            request = flask.request
        except ImportError:
            return None
    return {"url": request.url, "method": request.method, "headers": dict(request.headers),
            "GET": request.args.to_dict(), "POST": {}, "user_ip": request.remote_addr,
            "files_keys": []}, (request.url_rule.rule if request.url_rule else None)


def _send(level, body, request=None, extra_data=None):
    data = {"timestamp": int(time.time()), "environment": SETTINGS["environment"], "level": level,
            "language": "python %s" % platform.python_version(),
            "notifier": {"name": "pyrollbar", "version": "0.0.0-waggle-standin"},
            "uuid": str(uuid.uuid4()), "framework": "flask", "body": body,
            "server": {"host": socket.gethostname(), "pid": os.getpid(), "argv": sys.argv,
                       "root": SETTINGS.get("root")}}
    req = _request_data(request)
    if req:
        data["request"], context = req
        if context:
            data["context"] = context
    if extra_data:
        data["custom"] = extra_data
    token = SETTINGS["access_token"]
    url = urllib.parse.urljoin(SETTINGS["endpoint"], "item/")
    r = urllib.request.Request(url, method="POST",
                               data=json.dumps({"access_token": token, "data": data}).encode(),
                               headers={"Content-Type": "application/json", "X-Rollbar-Access-Token": token or ""})
    try:
        with urllib.request.urlopen(r, timeout=SETTINGS["timeout"]) as resp:
            resp.read()
    except Exception as e:  # pyrollbar logs and drops too
        print("rollbar stand-in: %s" % e, file=sys.stderr)
    return data["uuid"]


def report_message(message, level="error", request=None, extra_data=None, payload_data=None, **kw):
    return _send(level, {"message": {"body": message}}, request, extra_data)


def report_exc_info(exc_info=None, request=None, extra_data=None, payload_data=None, level=None, **kw):
    cls, exc, tb = exc_info or sys.exc_info()
    if cls is None:
        return None
    frames = [{"filename": f.filename, "lineno": f.lineno, "method": f.name, "code": f.line}
              for f in traceback.extract_tb(tb)]
    return _send(level or "error", {"trace": {"frames": frames,
                                              "exception": {"class": cls.__name__, "message": str(exc)}}},
                 request, extra_data)
