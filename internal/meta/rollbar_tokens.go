package meta

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// RollbarToken is a row of rollbar_tokens: a Rollbar access token of one
// environment. Like API keys, only the hash of the secret is stored.
type RollbarToken struct {
	ID         string
	EnvID      int64
	Name       string
	SecretHash []byte
	// Scopes are Rollbar's scope names (post_server_item, post_client_item,
	// read, write).
	Scopes    []string
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

const rollbarTokenCols = `id, env_id, name, secret_hash, scopes, disabled, created_at, updated_at`

func scanRollbarToken(s interface{ Scan(...any) error }) (RollbarToken, error) {
	var t RollbarToken
	var scopes string
	err := s.Scan(&t.ID, &t.EnvID, &t.Name, &t.SecretHash, &scopes, &t.Disabled, &t.CreatedAt, &t.UpdatedAt)
	t.Scopes = strings.Fields(scopes)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, err
}

// CreateRollbarToken adds a token. It returns ErrConflict if the id or the
// secret hash exists.
func (db *DB) CreateRollbarToken(ctx context.Context, t RollbarToken) (RollbarToken, error) {
	var out RollbarToken
	err := db.write(ctx, func(q querier) error {
		var err error
		out, err = scanRollbarToken(q.QueryRowContext(ctx,
			`INSERT INTO rollbar_tokens (id, env_id, name, secret_hash, scopes, disabled, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING `+rollbarTokenCols,
			t.ID, t.EnvID, t.Name, t.SecretHash, joinPerms(t.Scopes), t.Disabled, now()))
		return err
	})
	if err != nil {
		return RollbarToken{}, db.conflict(err, "create Rollbar token "+t.ID)
	}
	return out, nil
}

// RollbarTokens lists an environment's tokens ordered by creation.
func (db *DB) RollbarTokens(ctx context.Context, envID int64) ([]RollbarToken, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+rollbarTokenCols+` FROM rollbar_tokens WHERE env_id = $1 ORDER BY created_at, id`, envID)
	if err != nil {
		return nil, fmt.Errorf("meta: list Rollbar tokens: %w", err)
	}
	return collect(rows, scanRollbarToken, "list Rollbar tokens")
}

// AllRollbarTokens lists every token, for loading a cache.
func (db *DB) AllRollbarTokens(ctx context.Context) ([]RollbarToken, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+rollbarTokenCols+` FROM rollbar_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("meta: list Rollbar tokens: %w", err)
	}
	return collect(rows, scanRollbarToken, "list Rollbar tokens")
}

// SetRollbarTokenDisabled enables or disables an environment's token.
func (db *DB) SetRollbarTokenDisabled(ctx context.Context, envID int64, id string, disabled bool) error {
	return db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx,
			`UPDATE rollbar_tokens SET disabled = $3, updated_at = $4 WHERE env_id = $1 AND id = $2`,
			envID, id, disabled, now())
		if err != nil {
			return fmt.Errorf("meta: update Rollbar token %s: %w", id, err)
		}
		return affected(res, "update Rollbar token "+id)
	})
}

// DeleteRollbarToken removes an environment's token.
func (db *DB) DeleteRollbarToken(ctx context.Context, envID int64, id string) error {
	return db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM rollbar_tokens WHERE env_id = $1 AND id = $2`, envID, id)
		if err != nil {
			return fmt.Errorf("meta: delete Rollbar token %s: %w", id, err)
		}
		return affected(res, "delete Rollbar token "+id)
	})
}
