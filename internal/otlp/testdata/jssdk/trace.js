// Emits one trace through the OpenTelemetry JS SDK (Node) and its OTLP/HTTP
// trace exporter, configured only through the standard environment variables
// as the seed app is: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS
// and OTEL_SERVICE_NAME. Run by internal/otlp/jssdk_test.go:
//
//   node trace.js http|proto     (BASE_TIME_MS: the root span's start)
//
// It prints one JSON line: the trace and span ids, the exporter's result
// codes and any error.
'use strict';

const { diag, DiagConsoleLogger, DiagLogLevel, trace, context, SpanKind, SpanStatusCode } = require('@opentelemetry/api');
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { defaultResource, detectResources, envDetector } = require('@opentelemetry/resources');

diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

const kind = process.argv[2];
const { OTLPTraceExporter } = kind === 'proto'
  ? require('@opentelemetry/exporter-trace-otlp-proto')
  : require('@opentelemetry/exporter-trace-otlp-http');

const base = BigInt(process.env.BASE_TIME_MS);

// at returns the HrTime offsetMs (fractions allowed) after the base, exactly.
function at(offsetMs) {
  const ns = base * 1000000n + BigInt(Math.round(offsetMs * 1e6));
  return [Number(ns / 1000000000n), Number(ns % 1000000000n)];
}

async function main() {
  const results = [];
  const errors = [];
  // The exporter as the SDK builds it from the environment; the wrapper only
  // records what each export answered.
  const inner = new OTLPTraceExporter();
  const exporter = {
    export(spans, done) {
      inner.export(spans, (r) => {
        results.push(r.code);
        if (r.error) errors.push(String(r.error && r.error.message || r.error));
        done(r);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush(),
  };
  // The resource from OTEL_SERVICE_NAME (and OTEL_RESOURCE_ATTRIBUTES).
  const resource = defaultResource().merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer = provider.getTracer('waggle.test/jssdk', '4.5.6');

  const root = tracer.startSpan('GET /checkout', {
    kind: SpanKind.SERVER,
    startTime: at(0),
    attributes: {
      'http.route': '/checkout',
      'http.status_code': 500,
      'cart.value': 12.75,
      'user.premium': true,
      'cart.items': ['apple', 'pear'],
    },
  });
  const rootCtx = trace.setSpan(context.active(), root);
  const child = tracer.startSpan('charge card', {
    kind: SpanKind.CLIENT,
    startTime: at(10),
    attributes: { 'payment.provider': 'mockpay', attempt: 2 },
  }, rootCtx);
  const childCtx = trace.setSpan(rootCtx, child);
  const grandchild = tracer.startSpan('SELECT cart', {
    kind: SpanKind.CLIENT,
    startTime: at(20.25),
    attributes: { 'db.system': 'postgresql', 'db.rows': 3 },
  }, childCtx);
  grandchild.end(at(50.5));
  child.addEvent('retry', { 'retry.reason': 'timeout', 'retry.delay_ms': 50 }, at(60));
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  child.end(at(130.5));
  root.recordException(new Error('payment failed: card declined'), at(200));
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed' });
  root.end(at(250));

  try {
    await provider.forceFlush();
    await provider.shutdown();
  } catch (e) {
    errors.push(String(e && e.message || e));
  }
  process.stdout.write(JSON.stringify({
    traceId: root.spanContext().traceId,
    spans: {
      root: root.spanContext().spanId,
      child: child.spanContext().spanId,
      grandchild: grandchild.spanContext().spanId,
    },
    results,
    errors,
  }) + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
