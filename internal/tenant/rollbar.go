package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// KindRollbar is a Rollbar access token. Rollbar tokens live in their own
// table (meta.RollbarToken) with Rollbar's scopes instead of waggle
// permissions, and authenticate only the Rollbar API.
const KindRollbar KeyKind = "rollbar"

// RollbarScope is one of Rollbar's access-token scopes.
type RollbarScope string

// Rollbar's scopes.
const (
	// ScopePostServerItem may POST /item/ (any platform) and /deploy/.
	ScopePostServerItem RollbarScope = "post_server_item"
	// ScopePostClientItem may POST /item/ for client platforms only
	// (browser, android, ios, flash, client).
	ScopePostClientItem RollbarScope = "post_client_item"
	// ScopeRead may make every GET request.
	ScopeRead RollbarScope = "read"
	// ScopeWrite may PATCH and DELETE (items, deploys, webhook rules).
	ScopeWrite RollbarScope = "write"
)

// AllRollbarScopes lists the scopes in a stable order.
var AllRollbarScopes = []RollbarScope{ScopePostServerItem, ScopePostClientItem, ScopeRead, ScopeWrite}

// RollbarScopesOf maps a waggle API key's permissions to Rollbar scopes, so
// that any waggle key (WAGGLE_API_KEY included) works as a Rollbar token:
//
//	send_events    → post_server_item, post_client_item (items and deploys)
//	run_queries    → read
//	manage_queries → write (change items: status, level, title)
//
// manage_recipients (webhook rules) and manage_keys (Rollbar token
// administration) are checked as waggle permissions by the Rollbar API.
func RollbarScopesOf(p *Principal) map[RollbarScope]bool {
	m := make(map[RollbarScope]bool, 4)
	if p.Can(PermSendEvents) {
		m[ScopePostServerItem], m[ScopePostClientItem] = true, true
	}
	if p.Can(PermRunQueries) {
		m[ScopeRead] = true
	}
	if p.Can(PermManageQueries) {
		m[ScopeWrite] = true
	}
	return m
}

// RollbarPrincipal is an authenticated Rollbar request: either a Rollbar
// token (Kind KindRollbar) or a waggle API key used as one (Kind KindAPI,
// with Key set so that waggle permissions can be checked too).
type RollbarPrincipal struct {
	TokenID string
	Name    string
	Kind    KeyKind
	Env     Environment
	Scopes  map[RollbarScope]bool
	// Key is the waggle principal when a waggle API key authenticated.
	Key *Principal
}

// Has reports whether the principal holds scope.
func (p *RollbarPrincipal) Has(s RollbarScope) bool { return p != nil && p.Scopes[s] }

// RollbarToken is a Rollbar access token as shown to users (no secret).
type RollbarToken struct {
	ID        string
	Env       event.EnvID
	Name      string
	Scopes    []RollbarScope
	Disabled  bool
	CreatedAt time.Time
}

// RollbarTokens authenticates Rollbar access tokens and manages them. Like
// Service it authenticates from an immutable in-memory snapshot; changes made
// through it reload the snapshot, and a timer reloads it periodically so
// that tokens of deleted environments and changes made by other nodes are
// seen.
type RollbarTokens struct {
	svc  *Service
	db   *meta.DB
	log  *slog.Logger
	snap atomic.Pointer[map[[sha256.Size]byte]*RollbarPrincipal]
	mu   sync.Mutex

	stop chan struct{}
	done chan struct{}
}

// RollbarTokenChars is the length of a generated token: 32 lowercase hex
// characters (128 bits), the format of Rollbar's own tokens.
const RollbarTokenChars = 32

// NewRollbarTokens loads the tokens of svc's database and refreshes them
// every refresh (0: every 30 s) until Close.
func NewRollbarTokens(ctx context.Context, svc *Service, refresh time.Duration) (*RollbarTokens, error) {
	t := &RollbarTokens{svc: svc, db: svc.db, log: svc.log, stop: make(chan struct{}), done: make(chan struct{})}
	empty := map[[sha256.Size]byte]*RollbarPrincipal{}
	t.snap.Store(&empty)
	if err := t.Refresh(ctx); err != nil {
		return nil, err
	}
	if refresh <= 0 {
		refresh = 30 * time.Second
	}
	go t.loop(refresh)
	return t, nil
}

// Close stops the periodic refresh.
func (t *RollbarTokens) Close() {
	select {
	case <-t.stop:
	default:
		close(t.stop)
	}
	<-t.done
}

func (t *RollbarTokens) loop(every time.Duration) {
	defer close(t.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			if err := t.Refresh(context.Background()); err != nil {
				t.log.Error("tenant: refresh Rollbar tokens", "err", err)
			}
		}
	}
}

// Refresh reloads the snapshot from the database.
func (t *RollbarTokens) Refresh(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	envs, err := t.db.AllEnvironments(ctx)
	if err != nil {
		return fmt.Errorf("tenant: load Rollbar tokens: %w", err)
	}
	toks, err := t.db.AllRollbarTokens(ctx)
	if err != nil {
		return fmt.Errorf("tenant: load Rollbar tokens: %w", err)
	}
	envByID := make(map[int64]Environment, len(envs))
	for _, e := range envs {
		envByID[e.ID] = envFromMeta(e)
	}
	m := make(map[[sha256.Size]byte]*RollbarPrincipal, len(toks))
	for _, tok := range toks {
		env, ok := envByID[tok.EnvID]
		if !ok || tok.Disabled || len(tok.SecretHash) != sha256.Size {
			continue
		}
		var h [sha256.Size]byte
		copy(h[:], tok.SecretHash)
		scopes := make(map[RollbarScope]bool, len(tok.Scopes))
		for _, s := range tok.Scopes {
			scopes[RollbarScope(s)] = true
		}
		m[h] = &RollbarPrincipal{TokenID: tok.ID, Name: tok.Name, Kind: KindRollbar, Env: env, Scopes: scopes}
	}
	t.snap.Store(&m)
	return nil
}

// Authenticate resolves a presented Rollbar access token: a Rollbar token,
// or else a waggle API key (see RollbarScopesOf). It returns ErrUnknownKey
// for anything else and never touches the database.
func (t *RollbarTokens) Authenticate(ctx context.Context, token string) (*RollbarPrincipal, error) {
	token = strings.TrimSpace(token)
	if token == "" || len(token) > MaxSecretLen {
		return nil, ErrUnknownKey
	}
	h := HashSecret(token)
	if p, ok := (*t.snap.Load())[h]; ok {
		return p, nil
	}
	k, err := t.svc.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	return &RollbarPrincipal{TokenID: k.KeyID, Name: k.KeyName, Kind: k.Kind, Env: k.Env, Scopes: RollbarScopesOf(k), Key: k}, nil
}

// CreateToken creates a Rollbar token in env and returns it with its secret,
// which is never available again.
func (t *RollbarTokens) CreateToken(ctx context.Context, env event.EnvID, name string, scopes []RollbarScope) (RollbarToken, string, error) {
	name = strings.TrimSpace(name)
	if len(name) > MaxKeyName {
		return RollbarToken{}, "", fmt.Errorf("tenant: create Rollbar token: %w: name longer than %d", ErrInvalid, MaxKeyName)
	}
	if len(scopes) == 0 {
		return RollbarToken{}, "", fmt.Errorf("tenant: create Rollbar token: %w: no scopes", ErrInvalid)
	}
	var names []string
	for _, s := range scopes {
		ok := false
		for _, a := range AllRollbarScopes {
			ok = ok || a == s
		}
		if !ok {
			return RollbarToken{}, "", fmt.Errorf("tenant: create Rollbar token: %w: unknown scope %q", ErrInvalid, s)
		}
		names = append(names, string(s))
	}
	if _, err := t.db.Environment(ctx, int64(env)); err != nil {
		return RollbarToken{}, "", fmt.Errorf("tenant: create Rollbar token: %w", fromMeta(err))
	}
	var raw [RollbarTokenChars / 2]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return RollbarToken{}, "", fmt.Errorf("tenant: create Rollbar token: %w", err)
	}
	secret := hex.EncodeToString(raw[:])
	h := HashSecret(secret)
	for range 3 {
		id, err := NewKeyID()
		if err != nil {
			return RollbarToken{}, "", fmt.Errorf("tenant: create Rollbar token: %w", err)
		}
		row, err := t.db.CreateRollbarToken(ctx, meta.RollbarToken{
			ID: "rbt_" + strings.TrimPrefix(id, KeyIDPrefix), EnvID: int64(env), Name: name,
			SecretHash: h[:], Scopes: names,
		})
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		if err != nil {
			return RollbarToken{}, "", fmt.Errorf("tenant: create Rollbar token: %w", err)
		}
		t.changed(ctx)
		return rollbarTokenFromMeta(row), secret, nil
	}
	return RollbarToken{}, "", fmt.Errorf("tenant: create Rollbar token: could not find a free id")
}

// Tokens lists env's Rollbar tokens.
func (t *RollbarTokens) Tokens(ctx context.Context, env event.EnvID) ([]RollbarToken, error) {
	rows, err := t.db.RollbarTokens(ctx, int64(env))
	if err != nil {
		return nil, fmt.Errorf("tenant: list Rollbar tokens: %w", err)
	}
	out := make([]RollbarToken, 0, len(rows))
	for _, r := range rows {
		out = append(out, rollbarTokenFromMeta(r))
	}
	return out, nil
}

// SetTokenDisabled disables or enables one of env's tokens. Disabling takes
// effect at once.
func (t *RollbarTokens) SetTokenDisabled(ctx context.Context, env event.EnvID, id string, disabled bool) error {
	if disabled {
		t.revoke(id)
	}
	if err := t.db.SetRollbarTokenDisabled(ctx, int64(env), id, disabled); err != nil {
		return fmt.Errorf("tenant: update Rollbar token: %w", fromMeta(err))
	}
	t.changed(ctx)
	return nil
}

// DeleteToken deletes one of env's tokens; it stops working at once.
func (t *RollbarTokens) DeleteToken(ctx context.Context, env event.EnvID, id string) error {
	t.revoke(id)
	if err := t.db.DeleteRollbarToken(ctx, int64(env), id); err != nil {
		t.changed(ctx)
		return fmt.Errorf("tenant: delete Rollbar token: %w", fromMeta(err))
	}
	t.changed(ctx)
	return nil
}

func (t *RollbarTokens) revoke(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.snap.Load()
	next := make(map[[sha256.Size]byte]*RollbarPrincipal, len(old))
	for h, p := range old {
		if subtle.ConstantTimeCompare([]byte(p.TokenID), []byte(id)) != 1 {
			next[h] = p
		}
	}
	t.snap.Store(&next)
}

func (t *RollbarTokens) changed(ctx context.Context) {
	if err := t.Refresh(context.WithoutCancel(ctx)); err != nil {
		t.log.Error("tenant: reload Rollbar tokens after change", "err", err)
	}
}

func rollbarTokenFromMeta(r meta.RollbarToken) RollbarToken {
	tok := RollbarToken{ID: r.ID, Env: event.EnvID(r.EnvID), Name: r.Name, Disabled: r.Disabled, CreatedAt: r.CreatedAt}
	for _, s := range r.Scopes {
		tok.Scopes = append(tok.Scopes, RollbarScope(s))
	}
	return tok
}
