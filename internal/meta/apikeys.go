package meta

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// APIKey is a row of api_keys: a bearer secret of some kind, scoped to one
// environment. The secret itself is never stored; SecretHash is whatever hash
// the caller computed (the tenant package uses SHA-256).
type APIKey struct {
	// ID is the public key id.
	ID    string
	EnvID int64
	// Kind tells which protocol the key is for; see the tenant package.
	Kind        string
	Name        string
	SecretHash  []byte
	Permissions []string
	Disabled    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// APIKeyUpdate changes the non-nil fields of a key.
type APIKeyUpdate struct {
	Name        *string
	Disabled    *bool
	Permissions *[]string
}

const keyCols = `id, env_id, kind, name, secret_hash, permissions, disabled, created_at, updated_at`

func scanKey(s interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var perms string
	err := s.Scan(&k.ID, &k.EnvID, &k.Kind, &k.Name, &k.SecretHash, &perms, &k.Disabled, &k.CreatedAt, &k.UpdatedAt)
	k.Permissions = strings.Fields(perms)
	k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC(), k.UpdatedAt.UTC()
	return k, err
}

// joinPerms stores permissions as one space-separated, sorted, deduplicated
// TEXT value: portable, and a key has few.
func joinPerms(p []string) string {
	p = slices.Clone(p)
	slices.Sort(p)
	return strings.Join(slices.Compact(p), " ")
}

// CreateAPIKey adds a key; CreatedAt and UpdatedAt are set here. It returns
// ErrConflict if the id or the secret hash exists.
func (db *DB) CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	var out APIKey
	err := db.writeTenancy(ctx, func(q querier) error {
		var err error
		out, err = scanKey(q.QueryRowContext(ctx,
			`INSERT INTO api_keys (id, env_id, kind, name, secret_hash, permissions, disabled, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING `+keyCols,
			k.ID, k.EnvID, k.Kind, k.Name, k.SecretHash, joinPerms(k.Permissions), k.Disabled, now()))
		return err
	})
	if err != nil {
		return APIKey{}, db.conflict(err, "create API key "+k.ID)
	}
	return out, nil
}

// APIKey returns a key by id.
func (db *DB) APIKey(ctx context.Context, id string) (APIKey, error) {
	k, err := scanKey(db.q.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return APIKey{}, notFound(err, "API key "+id)
	}
	return k, nil
}

// APIKeyByHash returns the key whose secret has the given hash.
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	k, err := scanKey(db.q.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE secret_hash = $1`, hash))
	if err != nil {
		return APIKey{}, notFound(err, "API key by hash")
	}
	return k, nil
}

// APIKeys lists an environment's keys ordered by creation.
func (db *DB) APIKeys(ctx context.Context, envID int64) ([]APIKey, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+keyCols+` FROM api_keys WHERE env_id = $1 ORDER BY created_at, id`, envID)
	if err != nil {
		return nil, fmt.Errorf("meta: list API keys: %w", err)
	}
	return collect(rows, scanKey, "list API keys")
}

// AllAPIKeys lists every key of every environment, for loading a cache.
func (db *DB) AllAPIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+keyCols+` FROM api_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("meta: list API keys: %w", err)
	}
	return collect(rows, scanKey, "list API keys")
}

// UpdateAPIKey changes a key and returns it.
func (db *DB) UpdateAPIKey(ctx context.Context, id string, u APIKeyUpdate) (APIKey, error) {
	var out APIKey
	err := db.txTenancy(ctx, func(tx *DB) error {
		k, err := tx.APIKey(ctx, id)
		if err != nil {
			return err
		}
		setIf(&k.Name, u.Name)
		setIf(&k.Disabled, u.Disabled)
		setIf(&k.Permissions, u.Permissions)
		out, err = scanKey(tx.q.QueryRowContext(ctx,
			`UPDATE api_keys SET name = $2, disabled = $3, permissions = $4, updated_at = $5
			 WHERE id = $1 RETURNING `+keyCols,
			id, k.Name, k.Disabled, joinPerms(k.Permissions), now()))
		if err != nil {
			return notFound(err, "update API key "+id)
		}
		return nil
	})
	return out, err
}

// DeleteAPIKey removes a key.
func (db *DB) DeleteAPIKey(ctx context.Context, id string) error {
	return db.writeTenancy(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM api_keys WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("meta: delete API key %s: %w", id, err)
		}
		return affected(res, "delete API key "+id)
	})
}
