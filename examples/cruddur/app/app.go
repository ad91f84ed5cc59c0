// Package app is the Cruddur backend API (the bootcamp's backend-flask) in
// Go, instrumented as the week-2 seed instruments its Flask app:
//
//   - OpenTelemetry: otelhttp and an OTLP/HTTP exporter configured only by
//     OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS and
//     OTEL_SERVICE_NAME (as for Honeycomb);
//   - AWS X-Ray: aws-xray-sdk-go's xray.Handler with dynamic naming from
//     AWS_XRAY_URL and a subsegment per data call, sent to
//     AWS_XRAY_DAEMON_ADDRESS;
//   - CloudWatch Logs: a log/slog handler batching PutLogEvents into the log
//     group "cruddur" as watchtower does (aws-sdk-go-v2, configured by
//     AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION or
//     AWS_REGION, and AWS_ENDPOINT_URL_CLOUDWATCH_LOGS or AWS_ENDPOINT_URL);
//   - Rollbar: rollbar-go with ROLLBAR_ACCESS_TOKEN (and ROLLBAR_ENDPOINT,
//     which rollbar-go itself does not read).
//
// The OTel span and the X-Ray segment of a request share one trace id; see
// xrayids.go.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"
	"github.com/rollbar/rollbar-go"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// XRayServiceName is the segment name when the request's Host does not
// match AWS_XRAY_URL (the seed's service='Cruddur'; AWS_XRAY_TRACING_NAME
// overrides it). It is not "Cruddur": X-Ray segments get a dataset named
// after them, and "cruddur" is the log group's dataset.
const XRayServiceName = "cruddur-xray"

// LogGroup is the CloudWatch Logs group of the app's log lines.
const LogGroup = "cruddur"

// Options are what the environment does not say.
type Options struct {
	// LogSendInterval and LogMaxBatch tune the CloudWatch handler
	// (watchtower's send_interval and max_batch_count); defaults 5 s and
	// 1000 lines.
	LogSendInterval time.Duration
	LogMaxBatch     int
	// Console receives the console log (the seed's StreamHandler); nil
	// means stderr, io.Discard silences it.
	Console io.Writer
}

// App is the instrumented API.
type App struct {
	Log     *slog.Logger
	handler http.Handler
	tp      *sdktrace.TracerProvider
	tracer  trace.Tracer
	cw      *CloudWatchHandler
	rollbar bool
	store   *store
}

// New sets up the four SDKs from the environment and builds the routes.
func New(ctx context.Context, opt Options) (*App, error) {
	a := &App{store: newStore()}
	console := opt.Console
	if console == nil {
		console = os.Stderr
	}

	// --- OpenTelemetry (Honeycomb in the seed) ---
	exp, err := otlptracehttp.New(ctx) // OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK()) // OTEL_SERVICE_NAME
	if err != nil {
		return nil, fmt.Errorf("otel resource: %w", err)
	}
	a.tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(2*time.Second)),
		sdktrace.WithResource(res), sdktrace.WithIDGenerator(xrayIDGenerator{}))
	otel.SetTracerProvider(a.tp)
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}, xrayPropagator{})
	otel.SetTextMapPropagator(prop)
	a.tracer = a.tp.Tracer("cruddur")

	// --- CloudWatch Logs (watchtower in the seed) ---
	consoleH := slog.NewTextHandler(console, &slog.HandlerOptions{Level: slog.LevelInfo})
	handlers := fanout{consoleH}
	if awsCfg, err := awsconfig.LoadDefaultConfig(ctx); err != nil {
		fmt.Fprintln(console, "cloudwatch logs off:", err)
	} else {
		if awsCfg.Region == "" {
			awsCfg.Region = os.Getenv("AWS_DEFAULT_REGION") // boto3's variable, which the seed sets
		}
		if awsCfg.Region == "" {
			awsCfg.Region = "us-east-1"
		}
		if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil {
			fmt.Fprintln(console, "cloudwatch logs off: no AWS credentials:", err)
		} else {
			host, _ := os.Hostname()
			a.cw = NewCloudWatchHandler(cwl.NewFromConfig(awsCfg), CloudWatchOptions{
				LogGroup: LogGroup, LogStream: fmt.Sprintf("%s/cruddur-api/%d", host, os.Getpid()),
				SendInterval: or(opt.LogSendInterval, 5*time.Second), MaxBatchCount: orInt(opt.LogMaxBatch, 1000),
				Level: slog.LevelDebug,
			}, console)
			handlers = append(handlers, a.cw)
		}
	}
	a.Log = slog.New(handlers)

	// --- AWS X-Ray ---
	xray.SetLogger(xraylog.NewDefaultLogger(console, xraylog.LogLevelWarn))
	if err := xray.Configure(xray.Config{ServiceVersion: "1.0.0"}); err != nil { // re-reads AWS_XRAY_DAEMON_ADDRESS
		return nil, fmt.Errorf("x-ray: %w", err)
	}
	var namer xray.SegmentNamer = xray.NewFixedSegmentNamer(XRayServiceName)
	if u := os.Getenv("AWS_XRAY_URL"); u != "" {
		namer = xray.NewDynamicSegmentNamer(XRayServiceName, u)
	}

	// --- Rollbar ---
	if tok := os.Getenv("ROLLBAR_ACCESS_TOKEN"); tok != "" {
		rollbar.SetToken(tok)
		rollbar.SetEnvironment("production")
		_, file, _, _ := runtime.Caller(0)
		rollbar.SetServerRoot(filepath.Dir(file))
		rollbar.SetCodeVersion("1.0.0")
		if ep := os.Getenv("ROLLBAR_ENDPOINT"); ep != "" {
			rollbar.SetEndpoint(rollbarItemURL(ep))
		}
		rollbar.SetEnabled(true)
		a.rollbar = true
	} else {
		rollbar.SetEnabled(false)
	}

	mux := http.NewServeMux()
	a.routes(mux)
	// otelhttp (outer) → bridge (OTel span → X-Amzn-Trace-Id) → xray.Handler → routes.
	a.handler = otelhttp.NewHandler(bridgeXRay(prop, xray.Handler(namer, mux)), "cruddur-api",
		otelhttp.WithPropagators(prop),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }))
	a.Log.Info("cruddur-api configured", "otel", os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		"xray", os.Getenv("AWS_XRAY_DAEMON_ADDRESS"), "cloudwatch", a.cw != nil, "rollbar", a.rollbar)
	return a, nil
}

// rollbarItemURL accepts pyrollbar's endpoint (…/api/1/) or rollbar-go's
// (…/api/1/item/).
func rollbarItemURL(ep string) string {
	if strings.HasSuffix(ep, "/item/") || strings.HasSuffix(ep, "/item") {
		return ep
	}
	return strings.TrimSuffix(ep, "/") + "/item/"
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func orInt(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// bridgeXRay writes the OTel server span as the request's X-Amzn-Trace-Id,
// so xray.Handler's segment joins the OTel trace as the span's child.
func bridgeXRay(prop propagation.TextMapPropagator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
			r.Header.Set(xrayHeader, xrayHeaderValue(sc))
		}
		next.ServeHTTP(w, r)
	})
}

// Handler serves the API.
func (a *App) Handler() http.Handler { return a.handler }

// Shutdown flushes spans, log lines and Rollbar items.
func (a *App) Shutdown(ctx context.Context) error {
	var errs []error
	if err := a.tp.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if a.cw != nil {
		errs = append(errs, a.cw.Close(ctx))
	}
	if a.rollbar {
		rollbar.Wait()
	}
	return errors.Join(errs...)
}

// Flush sends what the OTel batcher and the CloudWatch handler hold now.
func (a *App) Flush(ctx context.Context) error {
	err := a.tp.ForceFlush(ctx)
	if a.cw != nil {
		err = errors.Join(err, a.cw.Flush(ctx))
	}
	if a.rollbar {
		rollbar.Wait()
	}
	return err
}

// statusWriter remembers the status code.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(c int) {
	if s.code == 0 {
		s.code = c
	}
	s.ResponseWriter.WriteHeader(c)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = 200
	}
	return s.ResponseWriter.Write(b)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) (any, error)

// route registers pattern with the endpoint name the homework query groups
// by (Flask's rule, e.g. /api/activities/@<handle>).
func (a *App) route(mux *http.ServeMux, pattern, endpoint string, h handlerFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		span := trace.SpanFromContext(ctx)
		span.SetName(r.Method + " " + endpoint)
		span.SetAttributes(attribute.String("endpoint", endpoint), attribute.String("http.route", endpoint))
		_ = xray.AddAnnotation(ctx, "endpoint", endpoint)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				err := fmt.Errorf("panic: %v", p)
				a.fail(sw, r, err)
			}
			dur := time.Since(start)
			a.Log.InfoContext(ctx, fmt.Sprintf("%s %s %d", r.Method, r.URL.RequestURI(), sw.code),
				"endpoint", endpoint, "method", r.Method, "status", sw.code, "duration_ms", float64(dur.Microseconds())/1000)
		}()
		out, err := h(sw, r)
		if err != nil {
			a.fail(sw, r, err)
			return
		}
		if s, ok := out.(string); ok {
			_, _ = sw.Write([]byte(s))
			return
		}
		sw.Header().Set("Content-Type", "application/json")
		if r.Method == "POST" {
			sw.WriteHeader(http.StatusOK)
		}
		_ = json.NewEncoder(sw).Encode(out)
	})
}

// fail answers an error: 422 for validation, else 500 reported to Rollbar
// with the trace id, recorded on the OTel span and logged.
func (a *App) fail(w *statusWriter, r *http.Request, err error) {
	ctx := r.Context()
	code := http.StatusInternalServerError
	if errors.Is(err, ErrValidation) {
		code = http.StatusUnprocessableEntity
	}
	span := trace.SpanFromContext(ctx)
	sc := span.SpanContext()
	if code >= 500 {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		a.Log.ErrorContext(ctx, "request failed", "err", err.Error(), "path", r.URL.Path)
		if a.rollbar {
			rollbar.RequestErrorWithExtras(rollbar.ERR, r, err, traceExtras(sc))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"errors": err.Error()})
}

// traceExtras go to a Rollbar item's data.custom: trace_id (W3C, which
// waggle links to the trace) and the same id in X-Ray's spelling for
// searching the X-Ray console or API.
func traceExtras(sc trace.SpanContext) map[string]any {
	return map[string]any{"trace_id": sc.TraceID().String(), "xray_trace_id": XRayTraceID(sc.TraceID())}
}

// data runs one data call as an OTel span and an X-Ray subsegment.
func (a *App) data(ctx context.Context, name string, fn func(ctx context.Context) (int, error)) error {
	ctx, span := a.tracer.Start(ctx, name)
	defer span.End()
	span.SetAttributes(attribute.String("app.now", time.Now().UTC().Format(time.RFC3339Nano)))
	return xray.Capture(ctx, "mock-data", func(ctx context.Context) error {
		n, err := fn(ctx)
		span.SetAttributes(attribute.Int("app.result_length", n))
		_ = xray.AddMetadata(ctx, "result_length", n)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		return err
	})
}

// signedInUser is the handle the mock auth returns (the seed had none yet).
func signedInUser(r *http.Request) string {
	if h := r.Header.Get("X-Cruddur-User"); h != "" {
		return h
	}
	return "andrewbrown"
}

func (a *App) routes(mux *http.ServeMux) {
	s := a.store
	a.route(mux, "GET /api/health-check", "/api/health-check", func(w http.ResponseWriter, r *http.Request) (any, error) {
		return map[string]bool{"success": true}, nil
	})
	a.route(mux, "GET /api/message_groups", "/api/message_groups", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var out []MessageGroup
		err := a.data(r.Context(), "message-groups-mock-data", func(ctx context.Context) (int, error) {
			out = s.messageGroups(ctx, signedInUser(r))
			return len(out), nil
		})
		return out, err
	})
	a.route(mux, "GET /api/messages/{handle}", "/api/messages/@<handle>", func(w http.ResponseWriter, r *http.Request) (any, error) {
		handle := strings.TrimPrefix(r.PathValue("handle"), "@")
		var out []Message
		err := a.data(r.Context(), "messages-mock-data", func(ctx context.Context) (n int, err error) {
			out, err = s.messages(ctx, handle)
			return len(out), err
		})
		return out, err
	})
	a.route(mux, "POST /api/messages", "/api/messages", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var in struct {
			UserReceiverHandle string `json:"user_receiver_handle"`
			Message            string `json:"message"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrValidation, err)
		}
		trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("app.receiver_handle", in.UserReceiverHandle))
		var out Message
		err := a.data(r.Context(), "create-message-mock-data", func(ctx context.Context) (int, error) {
			var err error
			out, err = s.createMessage(ctx, signedInUser(r), in.UserReceiverHandle, in.Message)
			return 1, err
		})
		return out, err
	})
	a.route(mux, "GET /api/activities/home", "/api/activities/home", func(w http.ResponseWriter, r *http.Request) (any, error) {
		a.Log.InfoContext(r.Context(), "HomeActivities")
		var out []Activity
		err := a.data(r.Context(), "home-activities-mock-data", func(ctx context.Context) (int, error) {
			out = s.homeActivities(ctx)
			return len(out), nil
		})
		return out, err
	})
	a.route(mux, "GET /api/activities/notifications", "/api/activities/notifications", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var out []Activity
		err := a.data(r.Context(), "notifications-activities-mock-data", func(ctx context.Context) (int, error) {
			out = s.notificationsActivities(ctx)
			return len(out), nil
		})
		return out, err
	})
	a.route(mux, "GET /api/activities/search", "/api/activities/search", func(w http.ResponseWriter, r *http.Request) (any, error) {
		term := r.URL.Query().Get("term")
		trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("app.search_term", term))
		var out []Activity
		err := a.data(r.Context(), "search-activities-mock-data", func(ctx context.Context) (n int, err error) {
			out, err = s.searchActivities(ctx, term)
			return len(out), err
		})
		return out, err
	})
	a.route(mux, "POST /api/activities", "/api/activities", func(w http.ResponseWriter, r *http.Request) (any, error) {
		var in struct {
			Message string `json:"message"`
			TTL     string `json:"ttl"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrValidation, err)
		}
		var out Activity
		err := a.data(r.Context(), "create-activity-mock-data", func(ctx context.Context) (int, error) {
			var err error
			out, err = s.createActivity(ctx, signedInUser(r), in.Message, in.TTL)
			return 1, err
		})
		return out, err
	})
	a.route(mux, "GET /api/activities/{handle}", "/api/activities/@<handle>", func(w http.ResponseWriter, r *http.Request) (any, error) {
		raw := r.PathValue("handle")
		if !strings.HasPrefix(raw, "@") {
			return nil, fmt.Errorf("%w: no route %s", ErrValidation, r.URL.Path)
		}
		handle := raw[1:]
		trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("app.user_handle", handle))
		_ = xray.AddAnnotation(r.Context(), "user_handle", handle)
		var out []Activity
		err := a.data(r.Context(), "user-activities-mock-data", func(ctx context.Context) (n int, err error) {
			out, err = s.userActivities(ctx, handle)
			return len(out), err
		})
		return out, err
	})
	a.route(mux, "GET /rollbar/test", "/rollbar/test", func(w http.ResponseWriter, r *http.Request) (any, error) {
		if a.rollbar {
			sc := trace.SpanContextFromContext(r.Context())
			rollbar.MessageWithExtras(rollbar.WARN, "Hello World!", traceExtras(sc))
		}
		return "Hello World!", nil
	})
}
