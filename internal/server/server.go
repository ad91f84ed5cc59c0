// Package server assembles a waggle node: it opens the event store and the
// metadata, starts the ingest pipeline, mounts every protocol's handlers on
// the HTTP listener, runs background work such as retention, and shuts all of
// it down in order so that everything acknowledged is durable.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waggle-hq/waggle/internal/cloudwatchlogs"
	"github.com/waggle-hq/waggle/internal/config"
	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Memory split of Config.MemoryLimit (see docs/ARCHITECTURE.md): the Go
// runtime's soft limit, DuckDB's memory_limit, and the ingest budget (which
// lives inside the Go heap) as fractions of the whole.
const (
	goHeapShare       = 0.40
	storeShare        = 0.35
	ingestBudgetShare = 0.15
)

// Server is one running waggle node.
type Server struct {
	cfg *config.Config
	log *slog.Logger

	Store    store.Store
	Meta     *meta.DB
	Tenants  *tenant.Service
	Pipeline *ingest.Pipeline
	Engine   *query.Engine

	// Bootstrap reports what the first-start set-up did.
	Bootstrap tenant.BootstrapResult

	// rollbar is the Rollbar API (internal/server/rollbar.go).
	rollbar *rollbarNode
	// cloudwatch is the CloudWatch Logs API (cloudwatch.go); the web UI
	// reads logs through it (ui.go).
	cloudwatch *cloudwatchlogs.API

	httpLn   net.Listener
	httpSrv  *http.Server
	debugSrv *http.Server
	ready    atomic.Bool
	wg       sync.WaitGroup
	stop     chan struct{}

	// otlp holds the OpenTelemetry listeners (otlp.go).
	otlp *otlpNode
}

// New opens the stores and binds the listeners; Run serves. The HTTP listener
// answers /healthz with 503 until New returned, so orchestration can probe
// it while a large store recovers its write-ahead log.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (s *Server, err error) {
	s = &Server{cfg: cfg, log: log, stop: make(chan struct{})}
	debug.SetMemoryLimit(int64(float64(cfg.MemoryLimit) * goHeapShare))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.handleHealth)
	s.httpLn, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	s.httpSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	// Every failing return below sets the named result s to nil, so the
	// clean-up holds on to the server being built.
	built := s
	defer func() {
		if err != nil {
			_ = built.close(context.Background())
		}
	}()

	st, err := openStore(ctx, cfg, log.With("component", "store")) // DuckDB or ClickHouse (store.go)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.Store = st
	if s.Meta, err = openMeta(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open metadata: %w", err)
	}
	if s.Tenants, err = tenant.NewService(ctx, s.Meta, log.With("component", "tenant")); err != nil {
		return nil, fmt.Errorf("tenancy: %w", err)
	}
	s.watchTenants()
	s.Bootstrap, err = s.Tenants.Bootstrap(ctx, tenant.BootstrapOptions{
		APIKey:             cfg.APIKey,
		AWSAccessKeyID:     cfg.AWSAccessKeyID,
		AWSSecretAccessKey: cfg.AWSSecretAccessKey,
	})
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}

	s.Pipeline = ingest.New(store.WithTimePolicy(s.Store, time.Now), ingest.Config{ // event time policy for every protocol (store/timepolicy_sink.go)
		MemoryBudget: int64(float64(cfg.MemoryLimit) * ingestBudgetShare),
		Logger:       log.With("component", "ingest"),
	})
	s.Engine = query.NewEngine(s.Store, honeycomb.NewQueryCatalog(s.Store), query.WithRepository(s.Meta), query.WithLogger(log.With("component", "query")),
		query.WithDerivedColumns(honeycomb.DerivedSource(s.Meta))) // derived columns (honeycomb/derived.go)
	api := &honeycomb.API{
		Store:    s.Store,
		Pipeline: s.Pipeline,
		Auth:     s.Tenants,
		Engine:   s.Engine,
		Log:      log.With("component", "honeycomb"),
		Alerting: s.startTriggers(), // boards, markers, triggers… and the trigger engine (triggers.go)
	}
	api.Register(mux)

	// Rollbar API (internal/rollbar): see rollbar.go.
	if err = s.mountRollbar(ctx, mux); err != nil {
		return nil, err
	}

	s.mountCloudWatchLogs(mux) // CloudWatch Logs at POST / (cloudwatch.go)

	// --- OpenTelemetry: OTLP receivers (main mux, OTLP/HTTP and OTLP/gRPC
	// ports) and the trace API; see otlp.go. ---
	if err = s.startOTLP(mux); err != nil {
		return nil, err
	}
	// --- end OpenTelemetry ---
	if err = s.mountUI(ctx, mux); err != nil { // web UI and its session API (ui.go)
		return nil, fmt.Errorf("web UI: %w", err)
	}
	if err = s.startXRay(ctx, mux); err != nil { // AWS X-Ray: API on mux, daemon on XRayAddr (xray.go)
		return nil, err
	}

	if err = s.startDebug(); err != nil {
		return nil, fmt.Errorf("debug listener on %s: %w", cfg.DebugAddr, err)
	}
	s.wg.Add(1)
	go s.retentionLoop()
	s.ready.Store(true)
	return s, nil
}

// HTTPAddr is the address the HTTP listener is bound to.
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// Run blocks until ctx is done, then shuts down gracefully: the listeners stop
// accepting, in-flight requests finish (each waits for its commit), the
// pipeline commits what it holds, and the stores close.
func (s *Server) Run(ctx context.Context) error {
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.close(shutdownCtx)
}

func (s *Server) close(ctx context.Context) error {
	s.ready.Store(false)
	var errs []error
	if s.httpSrv != nil {
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	if s.debugSrv != nil {
		_ = s.debugSrv.Close()
	}
	if err := s.closeOTLP(ctx); err != nil { // OpenTelemetry listeners (otlp.go)
		errs = append(errs, err)
	}
	close(s.stop)
	s.closeRollbar()
	if s.Pipeline != nil {
		s.Pipeline.Close()
	}
	s.wg.Wait()
	if s.Store != nil {
		if err := s.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	if s.Meta != nil {
		if err := s.Meta.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close metadata: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"starting"}` + "\n"))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

func (s *Server) retentionLoop() {
	defer s.wg.Done()
	interval := s.cfg.RetentionInterval
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	// Nodes sharing metadata and a store enforce retention one at a time:
	// only the holder of the retention lease does.
	ctx := s.stopContext()
	lease := s.keepLease(ctx, "retention")
	for {
		if held, err := lease.Acquire(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("enforce retention: lease", "err", err)
		} else if held {
			if err := s.Store.EnforceRetention(context.Background(), time.Now()); err != nil {
				s.log.Error("enforce retention", "err", err)
			}
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}
