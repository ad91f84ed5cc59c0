package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/otlp"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/traceapi"
)

// otlpNode is the OpenTelemetry part of a node: the OTLP receivers (on the
// main HTTP mux and on OTLP's own HTTP and gRPC ports) and the trace API.
type otlpNode struct {
	httpLn  net.Listener
	httpSrv *http.Server
	grpcLn  net.Listener
	grpcSrv *grpc.Server
}

// startOTLP mounts OTLP/HTTP and the trace API on mux and serves OTLP on
// cfg.OTLPHTTPAddr and cfg.OTLPGRPCAddr (an empty address turns that
// listener off).
func (s *Server) startOTLP(mux *http.ServeMux) error {
	log := s.log.With("component", "otlp")
	st := s.Store
	recv := &otlp.Receiver{
		Pipeline: s.Pipeline,
		Auth:     s.Tenants,
		Log:      log,
		DatasetExists: func(ctx context.Context, env event.EnvID, name string) (bool, error) {
			_, err := st.Dataset(ctx, env, name)
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		},
	}
	recv.Register(mux)
	(&traceapi.API{
		Store:   s.Store,
		Engine:  s.Engine,
		Catalog: honeycomb.NewQueryCatalog(s.Store),
		Auth:    s.Tenants,
		Log:     s.log.With("component", "traceapi"),
	}).Register(mux)

	n := &otlpNode{}
	s.otlp = n
	if addr := s.cfg.OTLPHTTPAddr; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("OTLP/HTTP listen on %s: %w", addr, err)
		}
		n.httpLn = ln
		n.httpSrv = &http.Server{
			Handler:           recv.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := n.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("OTLP/HTTP server", "err", err)
			}
		}()
	}
	if addr := s.cfg.OTLPGRPCAddr; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("OTLP/gRPC listen on %s: %w", addr, err)
		}
		n.grpcLn = ln
		n.grpcSrv = recv.NewGRPCServer()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := n.grpcSrv.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				log.Error("OTLP/gRPC server", "err", err)
			}
		}()
	}
	return nil
}

// closeOTLP stops the OTLP listeners gracefully: in-flight exports finish
// (each waits for its commit) unless ctx ends first.
func (s *Server) closeOTLP(ctx context.Context) error {
	n := s.otlp
	if n == nil {
		return nil
	}
	var errs []error
	if n.httpSrv != nil {
		if err := n.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("OTLP/HTTP shutdown: %w", err))
		}
	} else if n.httpLn != nil {
		_ = n.httpLn.Close()
	}
	if n.grpcSrv != nil {
		done := make(chan struct{})
		go func() { n.grpcSrv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			n.grpcSrv.Stop()
			<-done
		}
	} else if n.grpcLn != nil {
		_ = n.grpcLn.Close()
	}
	return errors.Join(errs...)
}

// OTLPHTTPAddr is the address of OTLP's own HTTP listener ("" when off).
func (s *Server) OTLPHTTPAddr() string {
	if s.otlp == nil || s.otlp.httpLn == nil {
		return ""
	}
	return s.otlp.httpLn.Addr().String()
}

// OTLPGRPCAddr is the address of the OTLP/gRPC listener ("" when off).
func (s *Server) OTLPGRPCAddr() string {
	if s.otlp == nil || s.otlp.grpcLn == nil {
		return ""
	}
	return s.otlp.grpcLn.Addr().String()
}
