package server

import (
	"context"
	"time"

	"github.com/waggle-hq/waggle/internal/config"
	"github.com/waggle-hq/waggle/internal/meta"
)

// defaultLeaseTTL is how long a node's leases (see meta.Lease) outlive it
// unless configured (WAGGLE_LEASE_TTL): another node takes over singleton
// work at most this long after the holder died.
const defaultLeaseTTL = time.Minute

// leaseTTL is the configured lease TTL.
func (s *Server) leaseTTL() time.Duration {
	if s.cfg.LeaseTTL > 0 {
		return s.cfg.LeaseTTL
	}
	return defaultLeaseTTL
}

// openMeta opens the metadata database cfg selects: the embedded DuckDB in
// the data directory, or PostgreSQL shared by several nodes (WAGGLE_META).
func openMeta(ctx context.Context, cfg *config.Config) (*meta.DB, error) {
	return meta.OpenWith(ctx, meta.Options{URL: cfg.Meta, DataDir: cfg.DataDir, MasterKey: cfg.MasterKey})
}

// stopContext returns a context that ends when the server stops.
func (s *Server) stopContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-s.stop
		cancel()
	}()
	return ctx
}

// watchTenants keeps the credential cache current with the changes other
// nodes make, when the metadata database is shared.
func (s *Server) watchTenants() {
	if !s.Meta.Shared() {
		return
	}
	ctx := s.stopContext()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.Tenants.Watch(ctx, 0)
	}()
}

// keepLease keeps the lease name for this node in the background until ctx
// ends, then releases it. Call Acquire before each run of the work it guards.
func (s *Server) keepLease(ctx context.Context, name string) *meta.Lease {
	l := s.Meta.NewLease(name, meta.NewHolderID(), s.leaseTTL(), s.log.With("component", "lease"))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		l.Keep(ctx)
	}()
	return l
}
