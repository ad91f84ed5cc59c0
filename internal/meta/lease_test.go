package meta

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// openPair opens the backend twice, as two nodes would. DuckDB lets one
// process open its file once, so its "nodes" share one DB there.
func openPair(t *testing.T, b *backend) (*DB, *DB) {
	t.Helper()
	a := b.open(t)
	if b.name == "duckdb" {
		return a, a
	}
	return a, b.open(t)
}

func TestLeaseAcquireRenewRelease(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		n1, n2 := openPair(t, b)
		const ttl = time.Minute
		if _, err := n1.LeaseHolder(ctx, "retention"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("LeaseHolder before any: err = %v", err)
		}
		mustAcquire := func(db *DB, holder string, want bool) {
			t.Helper()
			got, err := db.AcquireLease(ctx, "retention", holder, ttl)
			if err != nil || got != want {
				t.Fatalf("AcquireLease(%s) = %v, %v; want %v", holder, got, err, want)
			}
		}
		mustAcquire(n1, "a", true)
		mustAcquire(n2, "b", false)
		li, err := n2.LeaseHolder(ctx, "retention")
		if err != nil || li.Holder != "a" || li.Remaining <= 50*time.Second || li.Remaining > ttl {
			t.Fatalf("LeaseHolder = %+v, %v", li, err)
		}
		mustAcquire(n1, "a", true) // renew
		li2, err := n2.LeaseHolder(ctx, "retention")
		if err != nil || !li2.AcquiredAt.Equal(li.AcquiredAt) {
			t.Fatalf("renewal changed acquired_at: %+v then %+v, %v", li, li2, err)
		}
		// Another lease name is independent.
		if ok, err := n2.AcquireLease(ctx, "triggers", "b", ttl); !ok || err != nil {
			t.Fatalf("other lease: %v, %v", ok, err)
		}
		// Releasing what one does not hold changes nothing.
		if err := n2.ReleaseLease(ctx, "retention", "b"); err != nil {
			t.Fatal(err)
		}
		mustAcquire(n2, "b", false)
		if err := n1.ReleaseLease(ctx, "retention", "a"); err != nil {
			t.Fatal(err)
		}
		mustAcquire(n2, "b", true)
		mustAcquire(n1, "a", false)
		if _, err := n1.AcquireLease(ctx, "", "a", ttl); err == nil {
			t.Error("empty lease name accepted")
		}
		if _, err := n1.AcquireLease(ctx, "x", "a", 0); err == nil {
			t.Error("zero TTL accepted")
		}
	})
}

// TestLeaseFailover: a holder that stops renewing loses the lease once its
// TTL ran out, not before, and another takes it over.
func TestLeaseFailover(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		n1, n2 := openPair(t, b)
		const ttl = 600 * time.Millisecond
		dead := n1.NewLease("retention", "dies", ttl, nil)
		if ok, err := dead.Acquire(ctx); !ok || err != nil {
			t.Fatalf("Acquire = %v, %v", ok, err)
		}
		acquired := time.Now()
		if !dead.Held() {
			t.Fatal("Held() false right after Acquire")
		}
		// The holder dies: it renews no more. The other node polls.
		next := n2.NewLease("retention", "takes-over", ttl, nil)
		var took time.Duration
		for {
			ok, err := next.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				took = time.Since(acquired)
				break
			}
			if time.Since(acquired) > 10*ttl {
				t.Fatal("the lease was not taken over after 10 TTLs")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if took < ttl {
			t.Fatalf("taken over after %v, before the TTL of %v ran out", took, ttl)
		}
		if took > ttl+3*time.Second {
			t.Errorf("taken over after %v; TTL %v", took, ttl)
		}
		if dead.Held() {
			t.Fatal("the dead holder still believes it holds the lease")
		}
		if !next.Held() {
			t.Fatal("the new holder does not hold it")
		}
		// The old holder comes back: it cannot take the lease back.
		if ok, err := dead.Acquire(ctx); ok || err != nil {
			t.Fatalf("returning holder: Acquire = %v, %v", ok, err)
		}
		// Releasing hands it over at once.
		next.Release(ctx)
		if ok, err := dead.Acquire(ctx); !ok || err != nil {
			t.Fatalf("after release: Acquire = %v, %v", ok, err)
		}
	})
}

// TestLeaseRace: contenders racing for a free or expired lease: exactly one
// wins each round.
func TestLeaseRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		const contenders = 4
		dbs := make([]*DB, contenders)
		n1, n2 := openPair(t, b)
		for i := range dbs {
			dbs[i] = []*DB{n1, n2}[i%2]
		}
		for round := range 10 {
			name := fmt.Sprintf("race-%d", round)
			if round%2 == 1 {
				// An expired holder's row is there to take over.
				if ok, err := n1.AcquireLease(ctx, name, "expired", time.Millisecond); !ok || err != nil {
					t.Fatal(ok, err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			var wins atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range contenders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					ok, err := dbs[i].AcquireLease(ctx, name, fmt.Sprintf("c%d", i), time.Minute)
					if err != nil {
						t.Error(err)
					}
					if ok {
						wins.Add(1)
					}
				}()
			}
			close(start)
			wg.Wait()
			if w := wins.Load(); w != 1 {
				t.Fatalf("round %d: %d contenders hold the lease", round, w)
			}
		}
	})
}

// TestLeaseExclusive runs contenders that keep renewing, die now and then
// (stop renewing without releasing) and come back, while each checks Held
// before a critical section: no two are ever inside at once, and the lease
// does change hands.
func TestLeaseExclusive(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds")
	}
	eachBackend(t, func(t *testing.T, b *backend) {
		n1, n2 := openPair(t, b)
		const ttl = 400 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		var inside atomic.Int32
		var overlaps, entries atomic.Int64
		holders := sync.Map{}
		var wg sync.WaitGroup
		for i := range 3 {
			l := []*DB{n1, n2}[i%2].NewLease("exclusive", fmt.Sprintf("node-%d", i), ttl, nil)
			wg.Add(2)
			go func() { // renewer: renews every TTL/3, dies for 2 TTLs every ~1.2s
				defer wg.Done()
				tick := time.NewTicker(ttl / 3)
				defer tick.Stop()
				renewals := 0
				for ctx.Err() == nil {
					if _, err := l.Acquire(ctx); err != nil && ctx.Err() == nil {
						t.Error(err)
					}
					if renewals++; renewals%(9+i) == 0 && l.Held() {
						select { // die
						case <-ctx.Done():
						case <-time.After(2 * ttl):
						}
					}
					select {
					case <-ctx.Done():
					case <-tick.C:
					}
				}
			}()
			go func() { // worker
				defer wg.Done()
				for ctx.Err() == nil {
					checked := time.Now()
					if l.Held() {
						if inside.Add(1) > 1 {
							overlaps.Add(1)
						}
						entries.Add(1)
						holders.Store(l.Holder(), true)
						// The database agrees, as long as the section is
						// within the margin Held keeps.
						li, err := l.db.LeaseHolder(context.Background(), "exclusive")
						if err == nil && li.Holder != l.Holder() && time.Since(checked) < ttl/10 {
							t.Errorf("%s believes it holds the lease; the database says %s", l.Holder(), li.Holder)
						}
						time.Sleep(2 * time.Millisecond)
						inside.Add(-1)
					}
					time.Sleep(time.Millisecond)
				}
			}()
		}
		wg.Wait()
		if n := overlaps.Load(); n > 0 {
			t.Fatalf("%d times two holders were inside at once", n)
		}
		distinct := 0
		holders.Range(func(_, _ any) bool { distinct++; return true })
		if entries.Load() == 0 || distinct < 2 {
			t.Fatalf("entries %d by %d holders: the lease never changed hands", entries.Load(), distinct)
		}
	})
}
