package tenant

import (
	"context"
	"os"
	"testing"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/meta/metatest"
	"github.com/waggle-hq/waggle/internal/meta/pgtest"
)

// The tests run against every metadata backend (metatest.Each); this stops
// the PostgreSQL server they share.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// newTestService opens the metadata database b and returns a Service over
// it and the database.
func newTestService(t testing.TB, b *metatest.Backend) (*Service, *meta.DB) {
	t.Helper()
	db := b.Open(t)
	s, err := NewService(context.Background(), db, nil)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return s, db
}

// bootstrapped returns a Service over b after a first-start Bootstrap, with
// its default environment and generated secret.
func bootstrapped(t testing.TB, b *metatest.Backend) (*Service, Environment, string) {
	t.Helper()
	s, _ := newTestService(t, b)
	res, err := s.Bootstrap(context.Background(), BootstrapOptions{})
	if err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	return s, res.Environment, res.GeneratedSecret
}

// mustKey creates a key and returns it with its secret.
func mustKey(t testing.TB, s *Service, env event.EnvID, perms ...Permission) (Key, string) {
	t.Helper()
	k, secret, err := s.CreateKey(context.Background(), env, KeySpec{Name: "test", Perms: perms})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return k, secret
}
