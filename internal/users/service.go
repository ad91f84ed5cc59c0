package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Lifetimes.
const (
	// SessionTTL is how long a login lasts.
	SessionTTL = 7 * 24 * time.Hour
	// SetupTTL is how long a setup link works.
	SetupTTL = 24 * time.Hour
	// sessionCacheTTL bounds how long a logged-out or expired session may
	// still be honoured by another node sharing the metadata.
	sessionCacheTTL = 10 * time.Second
)

// Errors.
var (
	// ErrBadCredentials means the email or the password is wrong.
	ErrBadCredentials = errors.New("wrong email or password")
	// ErrNoSession means the session secret is unknown or expired.
	ErrNoSession = errors.New("not logged in")
	// ErrSetupUnusable means the setup link is unknown, used or expired.
	ErrSetupUnusable = errors.New("this setup link is unknown, used or expired")
	// ErrInvalid means a field is malformed.
	ErrInvalid = errors.New("invalid")
	// ErrExists means the email is taken.
	ErrExists = errors.New("a user with this email exists")
)

// Service manages users and sessions.
type Service struct {
	db      *meta.DB
	tenants *tenant.Service
	team    int64
	log     *slog.Logger
	// Now is the clock; tests may replace it.
	Now func() time.Time

	// hashGate bounds concurrent argon2 computations (19 MiB each).
	hashGate chan struct{}
	// dummyHash is verified against for unknown emails, so that a login's
	// timing does not tell whether the email exists.
	dummyHash string

	mu    sync.Mutex
	cache map[string]cachedSession
}

type cachedSession struct {
	user    meta.User
	expires time.Time
	fetched time.Time
}

// New returns a Service whose users belong to team.
func New(db *meta.DB, tenants *tenant.Service, team int64, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	dummy, _ := HashPassword("not a password of anyone")
	return &Service{db: db, tenants: tenants, team: team, log: log, Now: time.Now,
		hashGate: make(chan struct{}, 2), dummyHash: dummy, cache: map[string]cachedSession{}}
}

// Team is the team users belong to.
func (s *Service) Team() int64 { return s.team }

func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashSecret is what is stored for a session id or setup token: they are
// 256-bit random, so a fast hash suffices.
func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CSRFToken is the token a session's state-changing requests must carry in
// the X-Waggle-CSRF header. It derives from the session secret (which only
// the HttpOnly cookie holds), so it needs no storage, and the stored hash of
// the secret does not reveal it.
func CSRFToken(sessionSecret string) string {
	h := sha256.Sum256([]byte("waggle-csrf\x00" + sessionSecret))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func (s *Service) hash(pw string) (string, error) {
	s.hashGate <- struct{}{}
	defer func() { <-s.hashGate }()
	return HashPassword(pw)
}

func (s *Service) verify(encoded, pw string) (bool, error) {
	s.hashGate <- struct{}{}
	defer func() { <-s.hashGate }()
	return VerifyPassword(encoded, pw)
}

// SetupNeeded reports whether no user exists yet.
func (s *Service) SetupNeeded(ctx context.Context) (bool, error) {
	n, err := s.db.CountUsers(ctx)
	return n == 0, err
}

// NewSetupToken creates a one-time token that creates the first owner, when
// no user exists; "" otherwise.
func (s *Service) NewSetupToken(ctx context.Context) (string, error) {
	if need, err := s.SetupNeeded(ctx); err != nil || !need {
		return "", err
	}
	tok, err := randomSecret()
	if err != nil {
		return "", err
	}
	if err := s.db.CreateSetupToken(ctx, hashSecret(tok), s.Now().Add(SetupTTL)); err != nil {
		return "", err
	}
	return tok, nil
}

// normalizeEmail checks and lower-cases an email address.
func normalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", fmt.Errorf("email %q: %w", email, ErrInvalid)
	}
	return strings.ToLower(email), nil
}

func (s *Service) newUser(email, name, password string, role Role) (meta.User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return meta.User{}, err
	}
	if len(password) < MinPasswordLen || len(password) > 1024 {
		return meta.User{}, fmt.Errorf("%w: %w", ErrInvalid, ErrWeakPassword)
	}
	if len(name) > 200 {
		return meta.User{}, fmt.Errorf("name: %w", ErrInvalid)
	}
	h, err := s.hash(password)
	if err != nil {
		return meta.User{}, err
	}
	return meta.User{Team: s.team, Email: email, Name: strings.TrimSpace(name), Role: string(role), PasswordHash: h}, nil
}

// CreateOwner spends a setup token to create the first user, an owner.
func (s *Service) CreateOwner(ctx context.Context, token, email, name, password string) (meta.User, error) {
	u, err := s.newUser(email, name, password, RoleOwner)
	if err != nil {
		return meta.User{}, err
	}
	u, err = s.db.CreateOwnerWithToken(ctx, hashSecret(token), s.Now(), u)
	if errors.Is(err, meta.ErrTokenUnusable) {
		return meta.User{}, ErrSetupUnusable
	}
	return u, err
}

// CreateUser adds a user with role.
func (s *Service) CreateUser(ctx context.Context, email, name, password string, role Role) (meta.User, error) {
	u, err := s.newUser(email, name, password, role)
	if err != nil {
		return meta.User{}, err
	}
	u, err = s.db.CreateUser(ctx, u)
	if errors.Is(err, meta.ErrConflict) {
		return meta.User{}, ErrExists
	}
	return u, err
}

// Users lists the users.
func (s *Service) Users(ctx context.Context) ([]meta.User, error) { return s.db.Users(ctx) }

// Login checks a password and opens a session, returning its secret (for
// the cookie).
func (s *Service) Login(ctx context.Context, email, password string) (string, meta.User, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		_, _ = s.verify(s.dummyHash, password)
		return "", meta.User{}, ErrBadCredentials
	}
	u, err := s.db.UserByEmail(ctx, email)
	if errors.Is(err, meta.ErrNotFound) {
		_, _ = s.verify(s.dummyHash, password)
		return "", meta.User{}, ErrBadCredentials
	}
	if err != nil {
		return "", meta.User{}, err
	}
	ok, err := s.verify(u.PasswordHash, password)
	if err != nil {
		return "", meta.User{}, err
	}
	if !ok {
		return "", meta.User{}, ErrBadCredentials
	}
	secret, err := randomSecret()
	if err != nil {
		return "", meta.User{}, err
	}
	if err := s.db.CreateSession(ctx, hashSecret(secret), u.ID, s.Now().Add(SessionTTL)); err != nil {
		return "", meta.User{}, err
	}
	return secret, u, nil
}

// SessionUser returns the user of a live session.
func (s *Service) SessionUser(ctx context.Context, secret string) (meta.User, error) {
	if secret == "" || len(secret) > 100 {
		return meta.User{}, ErrNoSession
	}
	h := hashSecret(secret)
	now := s.Now()
	s.mu.Lock()
	c, ok := s.cache[h]
	s.mu.Unlock()
	if ok && now.Sub(c.fetched) < sessionCacheTTL && now.Before(c.expires) {
		return c.user, nil
	}
	uid, expires, err := s.db.Session(ctx, h)
	if errors.Is(err, meta.ErrNotFound) {
		return meta.User{}, ErrNoSession
	}
	if err != nil {
		return meta.User{}, err
	}
	if !now.Before(expires) {
		_ = s.db.DeleteSession(ctx, h)
		return meta.User{}, ErrNoSession
	}
	u, err := s.db.UserByID(ctx, uid)
	if errors.Is(err, meta.ErrNotFound) {
		return meta.User{}, ErrNoSession
	}
	if err != nil {
		return meta.User{}, err
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[h] = cachedSession{user: u, expires: expires, fetched: now}
	s.mu.Unlock()
	return u, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, secret string) error {
	h := hashSecret(secret)
	s.mu.Lock()
	delete(s.cache, h)
	s.mu.Unlock()
	return s.db.DeleteSession(ctx, h)
}

// Environments lists the environments a user can pick.
func (s *Service) Environments(ctx context.Context) ([]tenant.Environment, error) {
	return s.tenants.Environments(ctx, s.team)
}

// Principal is the user acting in the environment named envSlug (the first
// environment when empty), with the role's permissions.
func (s *Service) Principal(ctx context.Context, u meta.User, envSlug string) (*tenant.Principal, error) {
	team, err := s.tenants.Team(ctx, u.Team)
	if err != nil {
		return nil, err
	}
	var env tenant.Environment
	if envSlug != "" {
		if env, err = s.tenants.EnvironmentBySlug(ctx, u.Team, envSlug); err != nil {
			return nil, fmt.Errorf("environment %q: %w", envSlug, ErrInvalid)
		}
	} else {
		envs, err := s.tenants.Environments(ctx, u.Team)
		if err != nil {
			return nil, err
		}
		if len(envs) == 0 {
			return nil, fmt.Errorf("team has no environment: %w", ErrInvalid)
		}
		env = envs[0]
	}
	return &tenant.Principal{
		KeyID:   fmt.Sprintf("user:%d", u.ID),
		KeyName: u.Email,
		Kind:    KindSession,
		Team:    team,
		Env:     env,
		Perms:   Role(u.Role).Perms(),
	}, nil
}

// KindSession is the credential kind of a principal authenticated by a UI
// session.
const KindSession tenant.KeyKind = "session"

// CleanExpired deletes expired sessions.
func (s *Service) CleanExpired(ctx context.Context) error {
	return s.db.DeleteExpiredSessions(ctx, s.Now())
}
