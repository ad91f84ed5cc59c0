package tenant

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// Service keeps teams, environments and credentials in the metadata database
// and authenticates requests. It is safe for concurrent use.
//
// Authentication reads an immutable in-memory snapshot of every enabled
// credential (secret hash → Principal, AWS access key id → environment and
// secret), so no request touches the database in the steady state. Every
// change made through the Service replaces the snapshot; changes that take
// access away (disabling or deleting a key, narrowing its permissions,
// deleting an environment) first drop the affected entries, so they hold even
// if reloading the snapshot then fails. When several nodes share one metadata
// database (PostgreSQL), Watch keeps the snapshot current with the other
// nodes' changes: it reads the database's tenancy change counter when
// notified of a change and at least every second, and reloads when it moved.
type Service struct {
	db  *meta.DB
	log *slog.Logger

	snap atomic.Pointer[snapshot]
	// reloadMu serializes snapshot reloads, so a reload that read older rows
	// never replaces one that read newer rows.
	reloadMu sync.Mutex
	// version is the tenancy change counter (meta.TopicTenancy) read just
	// before the rows of the current snapshot.
	version atomic.Int64
}

// snapshot is one immutable view of the credentials.
type snapshot struct {
	// keys holds enabled API keys by the SHA-256 of their secret.
	keys map[[sha256.Size]byte]keyEntry
	// aws holds AWS credentials by access key id.
	aws map[string]awsEntry
}

type keyEntry struct {
	hash [sha256.Size]byte
	p    *Principal
}

type awsEntry struct {
	p      *Principal
	secret string
}

// NewService returns a Service over db and loads its snapshot. log may be nil.
func NewService(ctx context.Context, db *meta.DB, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{db: db, log: log}
	s.snap.Store(&snapshot{keys: map[[sha256.Size]byte]keyEntry{}, aws: map[string]awsEntry{}})
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Authenticate resolves a presented credential (see ParseCredential for the
// accepted forms) to the Principal of an enabled key. It returns ErrUnknownKey
// for anything else, and never touches the database.
func (s *Service) Authenticate(_ context.Context, presented string) (*Principal, error) {
	keyID, secret, ok := ParseCredential(presented)
	if !ok {
		return nil, ErrUnknownKey
	}
	h := HashSecret(secret)
	// The map lookup is keyed by the hash, so its timing tells an attacker at
	// most about hashes, not about secrets. The constant-time comparison
	// below is defense in depth.
	e, found := s.snap.Load().keys[h]
	if !found || subtle.ConstantTimeCompare(e.hash[:], h[:]) != 1 {
		return nil, ErrUnknownKey
	}
	if keyID != "" && subtle.ConstantTimeCompare([]byte(keyID), []byte(e.p.KeyID)) != 1 {
		return nil, ErrUnknownKey
	}
	return e.p, nil
}

// AWSPrincipal resolves an AWS access key id to the Principal it acts as (its
// environment, with every permission) and the plain secret access key that
// SigV4 verification needs. It returns ErrUnknownKey (wrapped) for an unknown
// access key id, and never touches the database.
func (s *Service) AWSPrincipal(_ context.Context, accessKeyID string) (*Principal, string, error) {
	e, ok := s.snap.Load().aws[accessKeyID]
	if !ok {
		return nil, "", fmt.Errorf("AWS access key id: %w", ErrUnknownKey)
	}
	return e.p, e.secret, nil
}

// AWSCredential returns the environment and secret access key of an AWS
// access key id; see AWSPrincipal.
func (s *Service) AWSCredential(ctx context.Context, accessKeyID string) (Environment, string, error) {
	p, secret, err := s.AWSPrincipal(ctx, accessKeyID)
	if err != nil {
		return Environment{}, "", err
	}
	return p.Env, secret, nil
}

// Refresh reloads the snapshot from the database.
func (s *Service) Refresh(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	// The counter first: a change committed while the rows are read shows as
	// a newer counter at the next poll.
	version, err := s.db.ChangeVersion(ctx, meta.TopicTenancy)
	if err != nil {
		return fmt.Errorf("tenant: load snapshot: %w", err)
	}
	teams, err := s.db.Teams(ctx)
	if err != nil {
		return fmt.Errorf("tenant: load snapshot: %w", err)
	}
	envs, err := s.db.AllEnvironments(ctx)
	if err != nil {
		return fmt.Errorf("tenant: load snapshot: %w", err)
	}
	keys, err := s.db.AllAPIKeys(ctx)
	if err != nil {
		return fmt.Errorf("tenant: load snapshot: %w", err)
	}
	creds, err := s.db.AllAWSCredentials(ctx)
	if err != nil {
		return fmt.Errorf("tenant: load snapshot: %w", err)
	}
	teamByID := make(map[int64]Team, len(teams))
	for _, t := range teams {
		teamByID[t.ID] = teamFromMeta(t)
	}
	envByID := make(map[int64]Environment, len(envs))
	for _, e := range envs {
		envByID[e.ID] = envFromMeta(e)
	}
	snap := &snapshot{
		keys: make(map[[sha256.Size]byte]keyEntry, len(keys)),
		aws:  make(map[string]awsEntry, len(creds)),
	}
	for _, k := range keys {
		env, ok := envByID[k.EnvID]
		if !ok || k.Disabled || len(k.SecretHash) != sha256.Size {
			continue
		}
		var h [sha256.Size]byte
		copy(h[:], k.SecretHash)
		key := keyFromMeta(k)
		snap.keys[h] = keyEntry{hash: h, p: &Principal{
			KeyID: k.ID, KeyName: k.Name, Kind: key.Kind,
			Team: teamByID[env.Team], Env: env, Perms: permSet(key.Perms),
		}}
	}
	for _, c := range creds {
		env, ok := envByID[c.EnvID]
		if !ok {
			continue
		}
		snap.aws[c.AccessKeyID] = awsEntry{secret: c.Secret, p: &Principal{
			KeyID: c.AccessKeyID, KeyName: "AWS " + c.AccessKeyID, Kind: KindAWS,
			Team: teamByID[env.Team], Env: env, Perms: permSet(AllPermissions),
		}}
	}
	s.snap.Store(snap)
	s.version.Store(version)
	return nil
}

// Intervals of Watch.
const (
	// DefaultWatchInterval is how often Watch polls the change counter
	// without a notification: the bound on how long another node's change (a
	// new, disabled or deleted key) takes to reach this node, plus one
	// reload, should the notification be lost.
	DefaultWatchInterval = time.Second
	// fullRefreshInterval reloads the snapshot even when the counter did not
	// move: a safety net for changes made behind waggle's back.
	fullRefreshInterval = 5 * time.Minute
)

// Watch keeps the snapshot current with changes made by other processes
// sharing the metadata database, until ctx is done. It reads the tenancy
// change counter, one row, when the database notifies a change (PostgreSQL
// LISTEN/NOTIFY: milliseconds after the other node's commit) and every
// interval (DefaultWatchInterval if zero) in case a notification was lost,
// and reloads the snapshot if the counter moved; every few minutes it
// reloads regardless. Failures are logged and retried at the next tick; the
// last snapshot stays in force meanwhile.
func (s *Service) Watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	// Where the database pushes change notifications (PostgreSQL), a change
	// is looked at at once; the ticker remains the safety net.
	changes := s.db.Changes(ctx)
	lastFull := time.Now()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case topic, ok := <-changes:
			if !ok {
				changes = nil
				continue
			}
			if topic != "" && topic != meta.TopicTenancy {
				continue
			}
		}
		err := s.poll(ctx, time.Since(lastFull) >= fullRefreshInterval)
		switch {
		case err == nil:
			if failing {
				s.log.Info("tenant: reloading credentials works again")
			}
			failing = false
		case ctx.Err() != nil:
			return
		case !failing:
			s.log.Error("tenant: watch for credential changes", "err", err)
			failing = true
		}
		if err == nil && time.Since(lastFull) >= fullRefreshInterval {
			lastFull = time.Now()
		}
	}
}

// poll reloads the snapshot if the change counter moved, or if full.
func (s *Service) poll(ctx context.Context, full bool) error {
	if !full {
		v, err := s.db.ChangeVersion(ctx, meta.TopicTenancy)
		if err != nil {
			return err
		}
		if v == s.version.Load() {
			return nil
		}
	}
	return s.Refresh(ctx)
}

// revoke drops from the snapshot every credential that drop selects, at once,
// without the database.
func (s *Service) revoke(drop func(p *Principal) bool) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.snap.Load()
	next := &snapshot{
		keys: make(map[[sha256.Size]byte]keyEntry, len(old.keys)),
		aws:  make(map[string]awsEntry, len(old.aws)),
	}
	for h, e := range old.keys {
		if !drop(e.p) {
			next.keys[h] = e
		}
	}
	for id, e := range old.aws {
		if !drop(e.p) {
			next.aws[id] = e
		}
	}
	s.snap.Store(next)
}

// changed reloads the snapshot after a change. The change is committed
// either way, so a failed reload is logged, not returned: the old snapshot
// stays until the next change or Refresh.
func (s *Service) changed(ctx context.Context, what string) {
	// The request that made the change may be cancelled by now; the reload
	// must still happen.
	if err := s.Refresh(context.WithoutCancel(ctx)); err != nil {
		s.log.Error("tenant: reload credentials after change", "change", what, "err", err)
	}
}

// permSet turns a permission list into the Principal's set.
func permSet(perms []Permission) map[Permission]bool {
	m := make(map[Permission]bool, len(perms))
	for _, p := range perms {
		m[p] = true
	}
	return m
}

func teamFromMeta(t meta.Team) Team { return Team{ID: t.ID, Name: t.Name, Slug: t.Slug} }

func envFromMeta(e meta.Environment) Environment {
	return Environment{
		ID: event.EnvID(e.ID), Team: e.TeamID, Name: e.Name, Slug: e.Slug,
		Description: e.Description, Color: e.Color, DeleteProtected: e.DeleteProtected,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
}
