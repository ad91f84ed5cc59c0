package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/config"
	"github.com/waggle-hq/waggle/internal/meta/pgtest"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// TestNodesSharePostgresMetadata starts two nodes on one PostgreSQL metadata
// database: the second finds the first's tenancy, a key made on one works on
// the other within seconds, and exactly one holds the retention lease.
func TestNodesSharePostgresMetadata(t *testing.T) {
	pg, err := pgtest.Start()
	if errors.Is(err, pgtest.ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	url := pg.NewDatabase(t)
	const masterKey = "d2FnZ2xlLXRlc3QtbWFzdGVyLWtleS0zMi1ieXRlcyE="
	start := func() *Server {
		cfg := &config.Config{
			DataDir:      t.TempDir(),
			HTTPAddr:     "127.0.0.1:0",
			OTLPHTTPAddr: "127.0.0.1:0",
			OTLPGRPCAddr: "127.0.0.1:0",
			MemoryLimit:  256 << 20,
			Meta:         url,
			MasterKey:    masterKey,
		}
		srv, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := srv.close(ctx); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return srv
	}
	ctx := context.Background()
	n1 := start()
	n2 := start()
	if !n1.Bootstrap.FirstStart || n1.Bootstrap.GeneratedSecret == "" || n2.Bootstrap.FirstStart || n2.Bootstrap.GeneratedKey != nil {
		t.Fatalf("bootstrap: first %+v, second %+v", n1.Bootstrap, n2.Bootstrap)
	}
	if _, err := n2.Tenants.Authenticate(ctx, n1.Bootstrap.GeneratedSecret); err != nil {
		t.Fatalf("the first node's key on the second: %v", err)
	}
	_, secret, err := n1.Tenants.CreateKey(ctx, n1.Bootstrap.Environment.ID, tenant.KeySpec{Name: "k", Perms: []tenant.Permission{tenant.PermSendEvents}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := n2.Tenants.Authenticate(ctx, secret); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a key made on one node is not accepted by the other after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	li, err := n1.Meta.LeaseHolder(ctx, "retention")
	if err != nil || li.Remaining <= 0 {
		t.Fatalf("retention lease: %+v, %v", li, err)
	}
	if n1.Meta.Backend() != "postgres" || !n1.Meta.Shared() {
		t.Errorf("backend %q shared %v", n1.Meta.Backend(), n1.Meta.Shared())
	}
}
