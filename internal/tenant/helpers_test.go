package tenant

import (
	"context"
	"testing"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// newTestService opens a metadata database in a temporary directory and
// returns a Service over it, its directory and its database.
func newTestService(t testing.TB) (*Service, string, *meta.DB) {
	t.Helper()
	dir := t.TempDir()
	db, err := meta.Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("meta.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s, err := NewService(context.Background(), db, nil)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return s, dir, db
}

// bootstrapped returns a Service after a first-start Bootstrap, with its
// default environment and generated secret.
func bootstrapped(t testing.TB) (*Service, Environment, string) {
	t.Helper()
	s, _, _ := newTestService(t)
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
