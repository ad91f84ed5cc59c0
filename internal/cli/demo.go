package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/examples/cruddur/app"
	"github.com/waggle-hq/waggle/examples/cruddur/load"
	"github.com/waggle-hq/waggle/internal/config"
	"github.com/waggle-hq/waggle/internal/server"
	"github.com/waggle-hq/waggle/internal/users"
)

// The demo's fixed names.
const (
	DemoService    = "cruddur-api" // OTEL_SERVICE_NAME: the dataset of the OTel spans
	DemoOwnerEmail = "demo@cruddur.example"
	demoAWSKeyID   = "AKIDCRUDDURDEMO00001"
)

// demoFlags are waggle demo's own flags; the rest are waggle serve's.
type demoFlags struct {
	appAddr  string
	rate     float64
	duration time.Duration
}

// splitDemoArgs takes -app-addr, -rate and -duration out of args.
func splitDemoArgs(args []string) (demoFlags, []string, error) {
	d := demoFlags{appAddr: "127.0.0.1:4567", rate: 20}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "app-addr" && name != "rate" && name != "duration") {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return d, nil, fmt.Errorf("flag -%s needs a value", name)
			}
			i++
			val = args[i]
		}
		var err error
		switch name {
		case "app-addr":
			d.appAddr = val
		case "rate":
			d.rate, err = strconv.ParseFloat(val, 64)
		case "duration":
			d.duration, err = time.ParseDuration(val)
		}
		if err != nil {
			return d, nil, fmt.Errorf("flag -%s: %w", name, err)
		}
	}
	return d, rest, nil
}

const demoUsage = `Usage: waggle demo [flags]

Runs waggle on its embedded store (data in ./waggle-demo unless -data-dir or
WAGGLE_DATA_DIR says otherwise), the Cruddur API instrumented with
OpenTelemetry, AWS X-Ray, CloudWatch Logs and Rollbar and pointed at it, and
a load generator, then prints where to look.

Demo flags:
  -app-addr string   address of the Cruddur API (default 127.0.0.1:4567)
  -rate float        load, requests per second (default 20)
  -duration d        stop after this long (default: until interrupted)

Every flag of 'waggle serve' works too (-http-addr, -data-dir, …).
`

// Demo is a running demo: waggle, the app and the load.
type Demo struct {
	Server               *server.Server
	App                  *app.App
	Key                  string // the API key (also the Rollbar token and the owner's password)
	Base                 string // waggle's URL
	AppURL               string
	Load                 *load.Stats
	appSrv               *http.Server
	dataDir              string
	stopLoad, stopServer context.CancelFunc
	loadDone, serverDone chan struct{}
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprint(stdout, demoUsage)
			return flag.ErrHelp
		}
	}
	df, rest, err := splitDemoArgs(args)
	if err != nil {
		return err
	}
	cfg, err := config.Parse("waggle demo", rest, func(k string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		switch k {
		case "WAGGLE_DATA_DIR":
			return "waggle-demo"
		case "WAGGLE_MEMORY_LIMIT":
			return "512MiB"
		case "WAGGLE_LOG_LEVEL":
			return "warn"
		}
		return ""
	})
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	if df.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, df.duration)
		defer cancel()
	}
	d, err := StartDemo(ctx, cfg, df.appAddr, df.rate, log, stderr)
	if err != nil {
		return err
	}
	d.PrintWelcome(stdout)
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nwaggle demo: stopping;", d.Load)
	return d.Close()
}

// StartDemo starts waggle with cfg (its key and AWS credential filled in
// when unset), the Cruddur API on appAddr configured only through the SDKs'
// environment variables (set here, in this process), and the load at rate
// requests per second until ctx ends.
func StartDemo(ctx context.Context, cfg *config.Config, appAddr string, rate float64, log *slog.Logger, appLog io.Writer) (*Demo, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	if cfg.APIKey == "" {
		k, err := demoKey(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		cfg.APIKey = k
	}
	if cfg.AWSAccessKeyID == "" {
		cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = demoAWSKeyID, "demo/"+cfg.APIKey
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	// waggle outlives ctx until Close has flushed the app's telemetry.
	d := &Demo{Server: srv, Key: cfg.APIKey, Base: "http://" + dialable(srv.HTTPAddr()), dataDir: cfg.DataDir, Load: &load.Stats{},
		loadDone: make(chan struct{}), serverDone: make(chan struct{})}
	var srvCtx context.Context
	srvCtx, d.stopServer = context.WithCancel(context.Background())
	go func() { defer close(d.serverDone); _ = srv.Run(srvCtx) }()
	ok := false
	defer func() {
		if !ok {
			d.stopServer()
			<-d.serverDone
		}
	}()

	// The UI needs a user: create the owner once, with the key as password.
	us := users.New(srv.Meta, srv.Tenants, srv.Bootstrap.Team.ID, log.With("component", "users"))
	if tok, err := us.NewSetupToken(ctx); err != nil {
		return nil, err
	} else if tok != "" {
		if _, err := us.CreateOwner(ctx, tok, DemoOwnerEmail, "Cruddur Demo", cfg.APIKey); err != nil {
			return nil, fmt.Errorf("demo owner: %w", err)
		}
	}

	// The app's configuration: exactly the seed's environment variables.
	otlp := d.Base
	if a := srv.OTLPHTTPAddr(); a != "" {
		otlp = "http://" + dialable(a)
	}
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":      otlp,
		"OTEL_EXPORTER_OTLP_HEADERS":       "x-honeycomb-team=" + cfg.APIKey,
		"OTEL_SERVICE_NAME":                DemoService,
		"AWS_XRAY_DAEMON_ADDRESS":          dialable(srv.XRayAddr()),
		"AWS_ACCESS_KEY_ID":                cfg.AWSAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":            cfg.AWSSecretAccessKey,
		"AWS_DEFAULT_REGION":               "us-east-1",
		"AWS_REGION":                       "us-east-1",
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": d.Base,
		"ROLLBAR_ACCESS_TOKEN":             cfg.APIKey,
		"ROLLBAR_ENDPOINT":                 d.Base + "/api/1/",
	}
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_XRAY_URL", "AWS_XRAY_TRACING_NAME"} {
		os.Unsetenv(k) // a developer's real AWS set-up must not leak into the demo
	}
	for k, v := range env {
		os.Setenv(k, v)
	}
	a, err := app.New(ctx, app.Options{Console: appLog})
	if err != nil {
		return nil, err
	}
	d.App = a
	ln, err := net.Listen("tcp", appAddr)
	if err != nil {
		return nil, fmt.Errorf("cruddur api: %w", err)
	}
	d.AppURL = "http://" + dialable(ln.Addr().String())
	d.appSrv = &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = d.appSrv.Serve(ln) }()
	var loadCtx context.Context
	loadCtx, d.stopLoad = context.WithCancel(ctx)
	go func() { defer close(d.loadDone); load.Run(loadCtx, d.AppURL, load.Options{Rate: rate}, d.Load) }()
	ok = true
	return d, nil
}

// Close stops the load, then the app (flushing its spans, log lines and
// Rollbar items into waggle), then waggle.
func (d *Demo) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	d.stopLoad()
	<-d.loadDone
	err := d.appSrv.Shutdown(ctx)
	err = errors.Join(err, d.App.Shutdown(ctx))
	d.stopServer()
	<-d.serverDone
	return err
}

// HomeworkQueryURL is the UI link of the week-2 homework query: COUNT,
// P95(duration_ms) GROUP BY endpoint over the last hour (web/src/query.ts's
// URL form).
func (d *Demo) HomeworkQueryURL() string {
	p := url.Values{}
	p.Set("ds", DemoService)
	p.Add("calc", "COUNT")
	p.Add("calc", "P95(duration_ms)")
	p.Add("where", "endpoint exists")
	p.Add("group", "endpoint")
	p.Add("order", "P95(duration_ms) desc")
	p.Set("range", "3600")
	return d.Base + "/ui/query?" + p.Encode()
}

// PrintWelcome tells the user where to look.
func (d *Demo) PrintWelcome(w io.Writer) {
	fmt.Fprintf(w, `waggle demo — the Cruddur week-2 app, observed by waggle

  waggle        %[1]s   (data in %[2]s)
  Cruddur API   %[3]s   (load: %[4]s)

  Web UI        %[1]s/ui/
                log in as %[5]s with password %[6]s

  Homework query — COUNT, P95(duration_ms) GROUP BY endpoint:
    %[7]s

  Traces (OTel spans and X-Ray segments joined)   %[1]s/ui/traces?ds=%[8]s
  Logs (CloudWatch group "cruddur", trace-linked) %[1]s/ui/logs
  Errors (Rollbar items)                          %[1]s/ui/errors

  API key (X-Honeycomb-Team, Rollbar token): %[6]s
    waggle query --server %[1]s --key %[6]s --dataset %[8]s --calc COUNT --calc 'P95(duration_ms)' --breakdown endpoint

Ctrl-C stops the demo.
`, d.Base, d.dataDir, d.AppURL, "mixed traffic", DemoOwnerEmail, d.Key, d.HomeworkQueryURL(), DemoService)
}

// demoKey reads the demo's API key from the data directory, creating it on
// first use, so a restarted demo keeps its key and login.
func demoKey(dir string) (string, error) {
	p := filepath.Join(dir, "demo.key")
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	k := strings.NewReplacer("+", "", "/", "", "=", "").Replace(base64.StdEncoding.EncodeToString(b[:]))
	return k, os.WriteFile(p, []byte(k+"\n"), 0o600)
}

// dialable turns a listener address into one a client can dial (0.0.0.0 and
// :: become loopback).
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// lockedWriter serialises writes (the app's console log in tests).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
