"""watchtower 3.4.0's exact call sequence with boto3, then a logging
handler shaped like watchtower's (watchtower itself is not packaged in
Debian). Prints one JSON line of what it observed."""
import json, logging, os, sys, time
import boto3
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
client = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
seen = {}

# 1. DescribeLogGroups with the prefix (exact-name match required).
groups = [g["logGroupName"] for p in client.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="cruddur") for g in p["logGroups"]]
seen["describe_before"] = groups
# 2. CreateLogGroup; 3. PutRetentionPolicy.
client.create_log_group(logGroupName="cruddur")
try:
    client.create_log_group(logGroupName="cruddur")
except ClientError as e:
    seen["duplicate_group"] = e.response["Error"]["Code"]
client.put_retention_policy(logGroupName="cruddur", retentionInDays=7)
stream = "vm/wt_test.py/backend/19890"
now = int(time.time() * 1000)
batch = [{"timestamp": now, "message": "hello one"}, {"timestamp": now, "message": json.dumps({"structured": True, "n": 2})}]
# 4. PutLogEvents to a missing stream -> ResourceNotFoundException.
try:
    client.put_log_events(logGroupName="cruddur", logStreamName=stream, logEvents=batch)
except ClientError as e:
    seen["missing_stream"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]
# 5. CreateLogStream; 6. retry.
client.create_log_stream(logGroupName="cruddur", logStreamName=stream)
r = client.put_log_events(logGroupName="cruddur", logStreamName=stream, logEvents=batch)
seen["first_put_keys"] = sorted(k for k in r if k != "ResponseMetadata")
# 7. Next batch with the sequence token.
r = client.put_log_events(logGroupName="cruddur", logStreamName=stream, sequenceToken=r["nextSequenceToken"],
                          logEvents=[{"timestamp": now + 1, "message": "hello three Root=1-5759e988-bd862e3fe1be46a994272793"}])
seen["second_put_keys"] = sorted(k for k in r if k != "ResponseMetadata")
# Rejected events: one 30 days old, one valid, one a day ahead.
r = client.put_log_events(logGroupName="cruddur", logStreamName=stream, logEvents=[
    {"timestamp": now - 30 * 86400000, "message": "old"}, {"timestamp": now + 2, "message": "fine"}, {"timestamp": now + 86400000, "message": "future"}])
seen["rejected"] = r.get("rejectedLogEventsInfo")
try:
    client.put_log_events(logGroupName="cruddur", logStreamName=stream, logEvents=[
        {"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}])
except ClientError as e:
    seen["out_of_order"] = [e.response["Error"]["Code"], e.response["Error"]["Message"]]


class Handler(logging.Handler):
    """A minimal watchtower: buffers records and sends them on flush,
    creating the stream on ResourceNotFoundException."""
    def __init__(self, client, group, stream):
        super().__init__()
        self.client, self.group, self.stream, self.queue = client, group, stream, []
    def emit(self, record):
        msg = self.format(record)
        if msg:
            self.queue.append({"timestamp": int(record.created * 1000), "message": msg})
    def flush(self):
        if not self.queue:
            return
        batch, self.queue = sorted(self.queue, key=lambda e: e["timestamp"]), []
        for _ in range(2):
            try:
                self.client.put_log_events(logGroupName=self.group, logStreamName=self.stream, logEvents=batch)
                return
            except ClientError as e:
                if e.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                self.client.create_log_stream(logGroupName=self.group, logStreamName=self.stream)

LOGGER = logging.getLogger("app")
LOGGER.setLevel(logging.DEBUG)
h = Handler(client, "cruddur", "backend-flask/app")
LOGGER.addHandler(h)
for i in range(25):
    LOGGER.info("request %d served", i)
LOGGER.error(json.dumps({"level": "ERROR", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "msg": "boom"}))
h.flush()

ev = client.get_log_events(logGroupName="cruddur", logStreamName=stream, startFromHead=True)
seen["stream_messages"] = [e["message"] for e in ev["events"]]
ev = client.get_log_events(logGroupName="cruddur", logStreamName="backend-flask/app", startFromHead=True, limit=10)
n = len(ev["events"])
tok = ev["nextForwardToken"]
while True:
    ev = client.get_log_events(logGroupName="cruddur", logStreamName="backend-flask/app", startFromHead=True, limit=10, nextToken=tok)
    n += len(ev["events"])
    if ev["nextForwardToken"] == tok:
        break
    tok = ev["nextForwardToken"]
seen["handler_count"] = n
seen["describe_after"] = [g["logGroupName"] for g in client.describe_log_groups(logGroupNamePrefix="cruddur")["logGroups"]]
seen["retention"] = client.describe_log_groups(logGroupNamePrefix="cruddur")["logGroups"][0].get("retentionInDays")
print(json.dumps(seen))
