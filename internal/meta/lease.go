package meta

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Leases give "exactly one node does X at a time" to nodes sharing a
// database, such as retention or the trigger engine. A lease is a row of
// leases: a name, its holder and when it expires. Taking, renewing and giving
// one up are each one statement that compares and sets, and expiry is judged
// by the database server's clock, so the nodes' clocks need not agree. A
// holder that stops renewing (it died, hung or lost the database) loses the
// lease when the TTL runs out, and another node takes it over.

// AcquireLease takes the lease name for holder for ttl, or renews it if
// holder holds it. It reports whether holder holds it now: false means
// another holder's lease has not expired. Holders are told apart by the
// string alone: give every process its own (NewHolderID).
//
// A true result means the lease is held until at least ttl after the call
// began; a holder that keeps doing the guarded work must renew well before
// that (Lease does, at a third of the TTL) and stop when it cannot.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" {
		return false, errors.New("meta: acquire lease: empty name or holder")
	}
	if ttl < time.Millisecond {
		return false, fmt.Errorf("meta: acquire lease %s: ttl %v below 1ms", name, ttl)
	}
	nowUS := db.dialect.nowMicros()
	var got string
	err := db.write(ctx, func(q querier) error {
		return q.QueryRowContext(ctx,
			`INSERT INTO leases (name, holder, expires_us, acquired_at)
			 VALUES ($1, $2, `+nowUS+` + CAST($3 AS BIGINT), $4)
			 ON CONFLICT (name) DO UPDATE SET
			   holder = excluded.holder,
			   expires_us = excluded.expires_us,
			   acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
			 WHERE leases.holder = excluded.holder OR leases.expires_us <= `+nowUS+`
			 RETURNING holder`,
			name, holder, ttl.Microseconds(), now()).Scan(&got)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("meta: acquire lease %s: %w", name, err)
	}
	return got == holder, nil
}

// ReleaseLease gives up the lease name if holder holds it, so another node
// can take it at once. Releasing a lease one does not hold is not an error.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	return db.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder); err != nil {
			return fmt.Errorf("meta: release lease %s: %w", name, err)
		}
		return nil
	})
}

// LeaseInfo describes who holds a lease.
type LeaseInfo struct {
	Name   string
	Holder string
	// Remaining is how long until it expires by the database's clock;
	// zero or less means it has expired and anyone may take it.
	Remaining  time.Duration
	AcquiredAt time.Time
}

// LeaseHolder returns who holds the lease name; ErrNotFound if nobody ever
// took it or it was released.
func (db *DB) LeaseHolder(ctx context.Context, name string) (LeaseInfo, error) {
	li := LeaseInfo{Name: name}
	var remainingUS int64
	err := db.q.QueryRowContext(ctx,
		`SELECT holder, expires_us - `+db.dialect.nowMicros()+`, acquired_at FROM leases WHERE name = $1`, name).
		Scan(&li.Holder, &remainingUS, &li.AcquiredAt)
	if err != nil {
		return LeaseInfo{}, notFound(err, "lease "+name)
	}
	li.Remaining = time.Duration(remainingUS) * time.Microsecond
	li.AcquiredAt = li.AcquiredAt.UTC()
	return li, nil
}

// NewHolderID returns a lease holder id unique to this process: host name,
// process id and a random suffix.
func NewHolderID() string {
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}

// Lease keeps one named lease for one holder: Acquire tries to take or renew
// it, Keep renews it in the background, Held tells whether the work it guards
// may run now. It is safe for concurrent use.
type Lease struct {
	db     *DB
	name   string
	holder string
	ttl    time.Duration
	log    *slog.Logger

	mu sync.Mutex
	// until is the local (monotonic) time until which the lease is surely
	// held: the start of the last successful acquire plus the TTL. The
	// database stamped its expiry after that start, so the database cannot
	// hand the lease to another holder before then.
	until time.Time
	// gen counts releases: an acquire that began before a release does not
	// count as holding after it.
	gen uint64
}

// NewLease returns a Lease of name for holder with the given TTL. log may be
// nil.
func (db *DB) NewLease(name, holder string, ttl time.Duration, log *slog.Logger) *Lease {
	if log == nil {
		log = slog.Default()
	}
	return &Lease{db: db, name: name, holder: holder, ttl: ttl, log: log}
}

// Name and Holder identify the lease.
func (l *Lease) Name() string   { return l.name }
func (l *Lease) Holder() string { return l.holder }

// Acquire takes or renews the lease once and reports whether it is held.
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	l.mu.Lock()
	gen := l.gen
	l.mu.Unlock()
	start := time.Now()
	ok, err := l.db.AcquireLease(ctx, l.name, l.holder, l.ttl)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case gen != l.gen:
		ok = false // released meanwhile
	case err != nil:
		// Unknown: keep the deadline of the last success, which still holds.
	case ok:
		if u := start.Add(l.ttl); u.After(l.until) {
			l.until = u
		}
	default:
		l.until = time.Time{}
	}
	return ok && time.Now().Before(l.until), err
}

// Held reports whether the lease is surely held now. The margin guards the
// work against the time it takes to start: a holder that is about to lose the
// lease does not begin.
func (l *Lease) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Now().Add(l.ttl / 10).Before(l.until)
}

// Keep renews the lease (or tries to take it) every third of the TTL until
// ctx is done, then releases it if held.
func (l *Lease) Keep(ctx context.Context) {
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	was := false
	for {
		ok, err := l.Acquire(ctx)
		if err != nil && ctx.Err() == nil {
			l.log.Warn("lease: renew", "lease", l.name, "err", err)
		}
		if ok != was && err == nil {
			if ok {
				l.log.Info("lease: acquired", "lease", l.name, "holder", l.holder)
			} else {
				l.log.Info("lease: held by another node", "lease", l.name)
			}
			was = ok
		}
		select {
		case <-ctx.Done():
			l.Release(context.WithoutCancel(ctx))
			return
		case <-t.C:
		}
	}
}

// Release gives the lease up, so another holder can take it at once.
func (l *Lease) Release(ctx context.Context) {
	l.mu.Lock()
	l.until = time.Time{}
	l.gen++
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := l.db.ReleaseLease(ctx, l.name, l.holder); err != nil {
		l.log.Warn("lease: release", "lease", l.name, "err", err)
	}
}
