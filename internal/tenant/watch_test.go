package tenant

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/meta/metatest"
)

// TestWatchSeesOtherNodesChanges runs two Services, as two nodes, on one
// metadata database: what one changes, the other's Watch applies within a
// bounded time (a few poll intervals; the test polls faster than the default
// of a second to keep it short). On PostgreSQL the nodes have
// separate connection pools; DuckDB allows one open per process, so there
// they share the DB but still learn of the changes only through Watch.
func TestWatchSeesOtherNodesChanges(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		const interval = 200 * time.Millisecond
		dbA := b.Open(t)
		dbB := dbA
		if b.Shared() {
			dbB = b.Open(t)
		}
		a, err := NewService(ctx, dbA, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Bootstrap(ctx, BootstrapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		env := res.Environment
		node, err := NewService(ctx, dbB, nil)
		if err != nil {
			t.Fatal(err)
		}
		watchCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); node.Watch(watchCtx, interval) }()
		t.Cleanup(func() { stop(); <-done })

		// within waits until cond holds on node B, at most the bound.
		const bound = 15 * interval
		within := func(what string, cond func() bool) {
			t.Helper()
			start := time.Now()
			for !cond() {
				if time.Since(start) > bound {
					t.Fatalf("%s: not seen by the other node within %v", what, bound)
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("%s: seen by the other node after %v", what, time.Since(start).Round(time.Millisecond))
		}
		authB := func(secret string) *Principal {
			p, err := node.Authenticate(ctx, secret)
			if err != nil && !errors.Is(err, ErrUnknownKey) {
				t.Fatal(err)
			}
			return p
		}

		k, secret := mustKey(t, a, env.ID, PermSendEvents, PermRunQueries)
		within("new key accepted", func() bool { return authB(secret) != nil })

		yes, no := true, false
		if _, err := a.UpdateKey(ctx, env.ID, k.ID, KeyUpdate{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		within("disabled key refused", func() bool { return authB(secret) == nil })
		if _, err := a.UpdateKey(ctx, env.ID, k.ID, KeyUpdate{Disabled: &no}); err != nil {
			t.Fatal(err)
		}
		within("re-enabled key accepted", func() bool { return authB(secret) != nil })

		perms := []Permission{PermSendEvents}
		if _, err := a.UpdateKey(ctx, env.ID, k.ID, KeyUpdate{Perms: &perms}); err != nil {
			t.Fatal(err)
		}
		within("narrowed permissions", func() bool { p := authB(secret); return p != nil && !p.Can(PermRunQueries) })

		if _, err := a.SetAWSCredential(ctx, env.ID, "AKIANODE", "node-secret"); err != nil {
			t.Fatal(err)
		}
		within("new AWS credential", func() bool {
			_, s, err := node.AWSCredential(ctx, "AKIANODE")
			return err == nil && s == "node-secret"
		})

		if err := a.DeleteKey(ctx, env.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		within("deleted key refused", func() bool { return authB(secret) == nil })

		// And the other way round: a key made on B reaches A's Watch too.
		go a.Watch(watchCtx, 50*time.Millisecond)
		_, secretB := mustKey(t, node, env.ID, PermSendEvents)
		start := time.Now()
		for {
			if p, _ := a.Authenticate(ctx, secretB); p != nil {
				break
			}
			if time.Since(start) > bound {
				t.Fatal("key made on node B not seen by node A")
			}
			time.Sleep(10 * time.Millisecond)
		}

		other, err := a.CreateEnvironment(ctx, env.Team, EnvironmentSpec{Name: "Other"})
		if err != nil {
			t.Fatal(err)
		}
		_, secretO := mustKey(t, a, other.ID, PermSendEvents)
		within("key in new environment", func() bool { return authB(secretO) != nil })
		if err := a.DeleteEnvironment(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		within("key of deleted environment refused", func() bool { return authB(secretO) == nil })
	})
}

// TestWatchSurvivesDatabaseErrors: while the database fails, the last
// snapshot stays in force; Watch returns when its context ends.
func TestWatchSurvivesDatabaseErrors(t *testing.T) {
	b := metatest.New(t, "duckdb")
	s, db := newTestService(t, b)
	res, err := s.Bootstrap(context.Background(), BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Watch(ctx, 10*time.Millisecond) }()
	_ = db.Close()
	time.Sleep(50 * time.Millisecond)
	if _, err := s.Authenticate(context.Background(), res.GeneratedSecret); err != nil {
		t.Fatalf("Authenticate with the database gone: %v", err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after its context ended")
	}
}

// TestWatchNotified: on PostgreSQL a change reaches the other node by
// LISTEN/NOTIFY, long before the poll interval.
func TestWatchNotified(t *testing.T) {
	if !slices.Contains(metatest.Names(), "postgres") {
		t.Skip("WAGGLE_TEST_META leaves PostgreSQL out")
	}
	b := metatest.New(t, "postgres")
	ctx := context.Background()
	a, _ := newTestService(t, b)
	res, err := a.Bootstrap(ctx, BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node, _ := newTestService(t, b)
	watchCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); node.Watch(watchCtx, time.Hour) }()
	t.Cleanup(func() { stop(); <-done })
	time.Sleep(300 * time.Millisecond) // let the listener connect
	for i := range 3 {
		k, secret := mustKey(t, a, res.Environment.ID, PermSendEvents)
		start := time.Now()
		for {
			if p, _ := node.Authenticate(ctx, secret); p != nil {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("round %d: key not seen by the other node 5s after its creation with no polling", i)
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Logf("round %d: new key seen after %v", i, time.Since(start))
		if err := a.DeleteKey(ctx, res.Environment.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		for {
			if p, _ := node.Authenticate(ctx, secret); p == nil {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("round %d: deleted key still accepted by the other node after 5s", i)
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Logf("round %d: deleted key refused after %v", i, time.Since(start))
	}
}
