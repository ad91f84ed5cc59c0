"""Stand-in for watchtower 3.x's CloudWatchLogHandler (see README.md): the
same boto3 calls, in the same order."""
import json
import logging
import os
import platform
import sys
import threading
import warnings

import boto3


class CloudWatchLogHandler(logging.Handler):
    def __init__(self, log_group_name=__name__, log_stream_name="{machine_name}/{program_name}/{logger_name}/{process_id}",
                 use_queues=True, send_interval=60, max_batch_count=10000, boto3_client=None,
                 create_log_group=True, log_group_retention_days=None, create_log_stream=True,
                 log_group=None, stream_name=None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if log_group is not None:  # watchtower 3 still takes the 1.x/2.x name, with a warning
            warnings.warn("log_group is deprecated; use log_group_name", DeprecationWarning)
            log_group_name = log_group
        if stream_name is not None:
            log_stream_name = stream_name
        self.log_group_name, self.log_stream_name = log_group_name, log_stream_name
        self.send_interval, self.max_batch_count = send_interval, max_batch_count
        self.create_log_stream = create_log_stream
        self.cwl_client = boto3_client or boto3.client("logs")
        self._qlock, self.queues = threading.Lock(), {}
        if create_log_group:
            self._ensure_log_group()
        if log_group_retention_days:
            self.cwl_client.put_retention_policy(logGroupName=self.log_group_name,
                                                 retentionInDays=log_group_retention_days)
        self.done = threading.Event()
        if use_queues:
            threading.Thread(target=self._run, daemon=True).start()

    def _ensure_log_group(self):
        try:
            for page in self.cwl_client.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=self.log_group_name):
                for group in page.get("logGroups", []):
                    if group["logGroupName"] == self.log_group_name:
                        return
        except self.cwl_client.exceptions.ClientError:
            pass
        try:
            self.cwl_client.create_log_group(logGroupName=self.log_group_name)
        except self.cwl_client.exceptions.ResourceAlreadyExistsException:
            pass

    def _stream_name(self, record):
        return self.log_stream_name.format(machine_name=platform.node(),
                                           program_name=os.path.basename(sys.argv[0]),
                                           logger_name=record.name, process_id=os.getpid(),
                                           thread_name=threading.current_thread().name)

    def emit(self, record):
        if record.name.startswith(("botocore", "boto3", "urllib3")):
            return  # as watchtower: never log its own calls
        try:
            msg = record.msg if isinstance(record.msg, dict) else self.format(record)
            if isinstance(msg, dict):
                msg = json.dumps(msg, default=str)
            event = {"timestamp": int(record.created * 1000), "message": msg}
            with self._qlock:
                self.queues.setdefault(self._stream_name(record), []).append(event)
        except Exception:
            self.handleError(record)

    def _run(self):
        while not self.done.wait(self.send_interval):
            self.flush()

    def _put(self, stream, batch):
        for _ in range(2):
            try:
                self.cwl_client.put_log_events(logGroupName=self.log_group_name, logStreamName=stream, logEvents=batch)
                return
            except self.cwl_client.exceptions.ResourceNotFoundException:
                if not self.create_log_stream:
                    raise
                self.cwl_client.create_log_stream(logGroupName=self.log_group_name, logStreamName=stream)

    def flush(self):
        with self._qlock:
            queues, self.queues = self.queues, {}
        for stream, events in queues.items():
            events.sort(key=lambda e: e["timestamp"])
            for i in range(0, len(events), self.max_batch_count):
                try:
                    self._put(stream, events[i:i + self.max_batch_count])
                except Exception as e:
                    print("watchtower stand-in: %s" % e, file=sys.stderr)

    def close(self):
        self.done.set()
        self.flush()
        super().close()
