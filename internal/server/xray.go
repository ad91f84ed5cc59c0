package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/xray"
	"github.com/waggle-hq/waggle/internal/xray/api"
	"github.com/waggle-hq/waggle/internal/xray/daemon"
	"github.com/waggle-hq/waggle/internal/xray/sampling"
)

// xrayNodes holds each running server's X-Ray daemon, so that closing the
// server stops it (kept outside Server to leave server.go to one call).
var xrayNodes sync.Map // *Server → *daemon.Daemon

// EnvXRayEnv names the environment (a slug of the default team) that
// datagrams received on the X-Ray daemon address belong to; unset means the
// default environment. UDP carries no credential, so the address itself is
// the credential: bind it to loopback or a private network.
const EnvXRayEnv = "WAGGLE_XRAY_ENV"

// startXRay mounts the X-Ray API on mux and starts the daemon on
// cfg.XRayAddr (empty: no daemon). The daemon is stopped when the HTTP
// server shuts down, before the pipeline closes.
func (s *Server) startXRay(ctx context.Context, mux *http.ServeMux) error {
	log := s.log.With("component", "xray")
	asm := &xray.Assembler{}
	smp := &sampling.Service{Store: s.Meta}
	a := &api.API{
		Store: s.Store, Exec: s.Store, Engine: s.Engine, Catalog: honeycomb.NewQueryCatalog(s.Store),
		Pipeline: s.Pipeline, Meta: s.Meta, Sampling: smp, Assembler: asm, Auth: s.Tenants, Log: log,
	}
	a.Init()
	a.Register(mux)
	if s.cfg.XRayAddr == "" {
		return nil
	}
	env := s.Bootstrap.Environment
	if slug := os.Getenv(EnvXRayEnv); slug != "" && slug != env.Slug {
		e, err := s.Tenants.EnvironmentBySlug(ctx, s.Bootstrap.Team.ID, slug)
		if err != nil {
			return fmt.Errorf("%s=%s: %w", EnvXRayEnv, slug, err)
		}
		env = e
	}
	d, err := daemon.Start(daemon.Config{
		Addr: s.cfg.XRayAddr, Env: env.ID, Pipeline: s.Pipeline, Assembler: asm, Sampling: smp,
		Fallback: a.Unsigned(env.ID), Log: log,
	})
	if err != nil {
		// Not fatal: the API still works, and a second server on one host
		// (tests, a blue/green deploy) must not fail over the default port.
		log.Error("x-ray daemon not started", "addr", s.cfg.XRayAddr, "err", err)
		return nil
	}
	xrayNodes.Store(s, d)
	s.httpSrv.RegisterOnShutdown(func() { _ = d.Close(context.Background()) })
	log.Info("x-ray daemon listening", "addr", d.Addr(), "environment", env.Slug)
	return nil
}

// XRayAddr is the X-Ray daemon's address ("" when off).
func (s *Server) XRayAddr() string {
	if d, ok := xrayNodes.Load(s); ok {
		return d.(*daemon.Daemon).Addr()
	}
	return ""
}
