"""Stand-in for opentelemetry.sdk.trace.export (see ../../../README.md)."""
import os
import threading


class BatchSpanProcessor:
    def __init__(self, exporter):
        self.exporter, self.provider = exporter, None
        self.delay = int(os.getenv("OTEL_BSP_SCHEDULE_DELAY", "5000")) / 1000.0
        self.lock, self.queue = threading.Lock(), []
        self.done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def on_end(self, span):
        with self.lock:
            self.queue.append(span)

    def _run(self):
        while not self.done.wait(self.delay):
            self.force_flush()

    def force_flush(self):
        with self.lock:
            spans, self.queue = self.queue, []
        if spans:
            self.exporter.export(self.provider, spans)

    def shutdown(self):
        self.done.set()
        self.force_flush()
