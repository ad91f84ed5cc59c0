package tenant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// Key is an API key as shown to users: everything but the secret, which is
// known only when the key is created.
type Key struct {
	// ID is the public key id.
	ID   string
	Env  event.EnvID
	Kind KeyKind
	Name string
	// Perms are the key's permissions in AllPermissions order.
	Perms     []Permission
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Can reports whether the key holds perm.
func (k Key) Can(perm Permission) bool { return slices.Contains(k.Perms, perm) }

// KeySpec describes a key to create.
type KeySpec struct {
	Name  string
	Perms []Permission
	// Disabled creates the key disabled.
	Disabled bool
	// Kind defaults to KindAPI.
	Kind KeyKind
	// Secret, if set, is used instead of a generated one (an operator's
	// WAGGLE_API_KEY). It must satisfy MinSecretLen.
	Secret string
}

// KeyUpdate changes the non-nil fields of a key.
type KeyUpdate struct {
	Name     *string
	Disabled *bool
	Perms    *[]Permission
}

// MaxKeyName is the longest key name accepted.
const MaxKeyName = 255

// CreateKey creates a key in env and returns it with its secret, which is
// never available again.
func (s *Service) CreateKey(ctx context.Context, env event.EnvID, spec KeySpec) (Key, string, error) {
	k, secret, err := s.createKey(ctx, s.db, env, spec)
	if err != nil {
		return Key{}, "", err
	}
	s.changed(ctx, "create key")
	return k, secret, nil
}

// createKey creates a key through db, which may be a transaction.
func (s *Service) createKey(ctx context.Context, db *meta.DB, env event.EnvID, spec KeySpec) (Key, string, error) {
	if spec.Kind == "" {
		spec.Kind = KindAPI
	}
	if spec.Kind != KindAPI {
		return Key{}, "", fmt.Errorf("tenant: create key: %w: kind %q", ErrInvalid, spec.Kind)
	}
	name := strings.TrimSpace(spec.Name)
	if len(name) > MaxKeyName {
		return Key{}, "", fmt.Errorf("tenant: create key: %w: name longer than %d", ErrInvalid, MaxKeyName)
	}
	perms, err := normPerms(spec.Perms)
	if err != nil {
		return Key{}, "", fmt.Errorf("tenant: create key: %w", err)
	}
	if _, err := db.Environment(ctx, int64(env)); err != nil {
		return Key{}, "", fmt.Errorf("tenant: create key: %w", fromMeta(err))
	}
	secret := spec.Secret
	if secret == "" {
		if secret, err = NewSecret(); err != nil {
			return Key{}, "", fmt.Errorf("tenant: create key: %w", err)
		}
	} else if err := validSecret(secret); err != nil {
		return Key{}, "", fmt.Errorf("tenant: create key: %w", err)
	}
	h := HashSecret(secret)
	// A fresh id collides with negligible probability; retry a few times
	// rather than fail if it does. A secret collision is the operator
	// reusing a secret, which is a conflict.
	for range 3 {
		id, err := NewKeyID()
		if err != nil {
			return Key{}, "", fmt.Errorf("tenant: create key: %w", err)
		}
		row, err := db.CreateAPIKey(ctx, meta.APIKey{
			ID: id, EnvID: int64(env), Kind: string(spec.Kind), Name: name,
			SecretHash: h[:], Permissions: permStrings(perms), Disabled: spec.Disabled,
		})
		if errors.Is(err, meta.ErrConflict) {
			if _, err := db.APIKey(ctx, id); err == nil {
				continue // id collision
			}
			return Key{}, "", fmt.Errorf("tenant: create key: %w: the secret is already in use", ErrConflict)
		}
		if err != nil {
			return Key{}, "", fmt.Errorf("tenant: create key: %w", err)
		}
		return keyFromMeta(row), secret, nil
	}
	return Key{}, "", fmt.Errorf("tenant: create key: could not find a free key id")
}

// Keys lists env's keys in creation order.
func (s *Service) Keys(ctx context.Context, env event.EnvID) ([]Key, error) {
	rows, err := s.db.APIKeys(ctx, int64(env))
	if err != nil {
		return nil, fmt.Errorf("tenant: list keys: %w", err)
	}
	out := make([]Key, 0, len(rows))
	for _, r := range rows {
		out = append(out, keyFromMeta(r))
	}
	return out, nil
}

// Key returns one of env's keys. A key of another environment is
// ErrNotFound.
func (s *Service) Key(ctx context.Context, env event.EnvID, id string) (Key, error) {
	row, err := s.db.APIKey(ctx, id)
	if err != nil {
		return Key{}, fmt.Errorf("tenant: key: %w", fromMeta(err))
	}
	if row.EnvID != int64(env) {
		return Key{}, fmt.Errorf("tenant: key %s: %w", id, ErrNotFound)
	}
	return keyFromMeta(row), nil
}

// UpdateKey changes one of env's keys. Disabling a key or taking permissions
// away applies to the next request.
func (s *Service) UpdateKey(ctx context.Context, env event.EnvID, id string, u KeyUpdate) (Key, error) {
	if _, err := s.Key(ctx, env, id); err != nil {
		return Key{}, err
	}
	mu := meta.APIKeyUpdate{Disabled: u.Disabled}
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		if len(name) > MaxKeyName {
			return Key{}, fmt.Errorf("tenant: update key: %w: name longer than %d", ErrInvalid, MaxKeyName)
		}
		mu.Name = &name
	}
	if u.Perms != nil {
		perms, err := normPerms(*u.Perms)
		if err != nil {
			return Key{}, fmt.Errorf("tenant: update key: %w", err)
		}
		ps := permStrings(perms)
		mu.Permissions = &ps
	}
	if u.Disabled != nil || u.Perms != nil {
		// Take access away now; the reload below restores what remains.
		s.revoke(func(p *Principal) bool { return p.KeyID == id })
	}
	row, err := s.db.UpdateAPIKey(ctx, id, mu)
	s.changed(ctx, "update key")
	if err != nil {
		return Key{}, fmt.Errorf("tenant: update key: %w", fromMeta(err))
	}
	return keyFromMeta(row), nil
}

// DeleteKey deletes one of env's keys. It stops working at once.
func (s *Service) DeleteKey(ctx context.Context, env event.EnvID, id string) error {
	if _, err := s.Key(ctx, env, id); err != nil {
		return err
	}
	s.revoke(func(p *Principal) bool { return p.KeyID == id })
	err := s.db.DeleteAPIKey(ctx, id)
	s.changed(ctx, "delete key")
	if err != nil {
		return fmt.Errorf("tenant: delete key: %w", fromMeta(err))
	}
	return nil
}

// normPerms validates permissions and returns them deduplicated in
// AllPermissions order.
func normPerms(perms []Permission) ([]Permission, error) {
	out := make([]Permission, 0, len(perms))
	for _, want := range AllPermissions {
		if slices.Contains(perms, want) {
			out = append(out, want)
		}
	}
	for _, p := range perms {
		if !slices.Contains(AllPermissions, p) {
			return nil, fmt.Errorf("%w: unknown permission %q", ErrInvalid, p)
		}
	}
	return out, nil
}

func permStrings(perms []Permission) []string {
	out := make([]string, len(perms))
	for i, p := range perms {
		out[i] = string(p)
	}
	return out
}

// keyFromMeta converts a row; permissions this version does not know are
// dropped.
func keyFromMeta(r meta.APIKey) Key {
	var perms []Permission
	for _, want := range AllPermissions {
		if slices.Contains(r.Permissions, string(want)) {
			perms = append(perms, want)
		}
	}
	return Key{
		ID: r.ID, Env: event.EnvID(r.EnvID), Kind: KeyKind(r.Kind), Name: r.Name, Perms: perms,
		Disabled: r.Disabled, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}
