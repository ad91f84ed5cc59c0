// Package otlp receives OpenTelemetry data (OTLP) and turns it into events
// exactly as Honeycomb does (its open-source translator, husky), so that an
// app configured for Honeycomb with
//
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://waggle:4318   (was https://api.honeycomb.io)
//	OTEL_EXPORTER_OTLP_HEADERS=x-honeycomb-team=KEY
//	OTEL_SERVICE_NAME=my-service
//
// works unchanged but for endpoint and key.
//
// # Endpoints
//
// OTLP/HTTP: POST /v1/traces, /v1/logs, /v1/metrics (and with a trailing
// slash), on the main HTTP port and on WAGGLE_OTLP_HTTP_ADDR; bodies are
// protobuf (application/x-protobuf, application/protobuf) or JSON
// (application/json), optionally gzip or zstd, at most MaxBodyBytes (20 MiB)
// as sent and decompressed. OTLP/gRPC: the Trace, Logs and Metrics services
// on WAGGLE_OTLP_GRPC_ADDR, gzip accepted, same size bound.
//
// The key is the x-honeycomb-team header (gRPC metadata) and needs
// send_events; a dataset that does not exist is created when the key has
// create_datasets, otherwise its items are rejected (partial success).
//
// # Answers
//
// Success is the Export*ServiceResponse in the request's encoding, sent only
// once the events are durable; items that could not be stored (a span with
// an all-zero trace or span id, an event over 2000 fields, a dataset the key
// may not create) are counted in partial_success with the first reason.
// Whole-request failures, with a google.rpc.Status body (HTTP) or status
// (gRPC):
//
//	415 / Unimplemented     unsupported content-type (Honeycomb's text/plain message)
//	401 / Unauthenticated   missing 'x-honeycomb-team' header; unknown API key;
//	                        missing 'x-honeycomb-dataset' header (classic keys)
//	401 / PermissionDenied  key without send_events
//	400 / InvalidArgument   failed to parse OTLP request body (malformed protobuf
//	                        or JSON, ids of the wrong length); empty body;
//	                        undecompressable body; dataset has too many columns
//	413 / InvalidArgument   body over 20 MiB
//	429 / ResourceExhausted memory budget spent: Retry-After / RetryInfo (retryable)
//	503 / Unavailable       storage failed or shutting down: Retry-After / RetryInfo
//
// # Mapping (husky's rules; docs/guides/opentelemetry.md has the full table)
//
// Datasets: traces go to the resource's service.name (trimmed; missing,
// blank or "unknown_service…" → "unknown_service"; with a classic key, to
// x-honeycomb-dataset); logs to service.name, else x-honeycomb-dataset, else
// "unknown_log_source"; metrics to x-honeycomb-dataset, else
// "unknown_metrics".
//
// Attributes: strings, booleans, integers and doubles keep their type; bytes
// and arrays become compact JSON text (bytes as a base64 JSON string); maps
// are flattened with "." up to 5 levels, deeper values become JSON text; JSON
// text is cut at 65535 bytes (husky's writes a trailing newline after JSON
// text; waggle does not). Precedence: item > scope > resource > derived
// fields. sampleRate (or SampleRate) attributes become the event's sample
// rate and are removed; otherwise a tracestate "ot=th:<hex>" threshold gives
// the adjusted count 2^56/(2^56-T), rounded to the nearest integer (husky
// randomises between floor and ceiling below 100; waggle is deterministic).
// Zero timestamps mean the time of receipt.
//
// Spans: trace.trace_id, trace.span_id, trace.parent_id, name, type and
// span.kind, duration_ms (float; negative → 0 and meta.invalid_duration),
// status_code (0/1/2), status_message, error (true iff status ERROR),
// span.num_events, span.num_links, meta.signal_type "trace",
// trace.trace_state, library.name, library.version,
// telemetry.instrumentation_library, resource.schema_url, scope.schema_url.
// Each span event and link is its own event (emitted before its span), with
// meta.annotation_type "span_event" or "link"; an "exception" event lifts
// exception.message/type/stacktrace/escaped onto its span (first wins).
//
// Logs: severity (trace|debug|info|warn|error|fatal|unspecified),
// severity_code, severity_text, body (string; a map is flattened to
// body.<key>; anything else JSON text), flags, event.name,
// meta.signal_type "log", trace.trace_id and trace.parent_id (the log's span)
// with meta.annotation_type "span_event" when the log has a trace id.
//
// Metrics: one event per data point with meta.signal_type "metric",
// metric.name, metric.type (gauge|sum|histogram|exponential_histogram|
// summary), metric.unit, metric.description, metric.temporality,
// metric.monotonic (sums), metric.start_time_unix_nano, the resource, scope
// and data point attributes, and the value in columns named after the
// metric, so MAX(http.server.active_requests) or AVG(latency.avg) chart it:
//
//	gauge, sum              <name> = value (integer or float)
//	histogram               <name>.count, .sum, .avg, .min, .max,
//	                        <name>.le.<bound> = cumulative count of values ≤ bound
//	                        (and <name>.le.+Inf), <name>.bounds and
//	                        <name>.bucket_counts as JSON arrays
//	exponential histogram   <name>.count, .sum, .avg, .min, .max, .scale,
//	                        .zero_count, .positive.offset, .positive.bucket_counts,
//	                        .negative.offset, .negative.bucket_counts
//	summary                 <name>.count, .sum, .avg, <name>.p<100·q>
//	                        (p50, p99, p99.9)
//
// Honeycomb merges data points that share a timestamp and attributes into
// one event; waggle keeps one event per data point, which queries the same
// way (a missing column is simply absent).
package otlp
