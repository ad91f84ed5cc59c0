package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// Web UI accounts (package users): users with a password hash and a role,
// their sessions, the one-time setup tokens that create the first owner, and
// each user's query history. Secrets (session ids, setup tokens) are stored
// only as hashes computed by the caller.

// User is a row of users.
type User struct {
	ID           int64
	Team         int64
	Email        string
	Name         string
	Role         string
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const userCols = `id, team_id, email, name, role, password_hash, created_at, updated_at`

func scanUser(s interface{ Scan(...any) error }) (User, error) {
	var u User
	err := s.Scan(&u.ID, &u.Team, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// CreateUser adds a user; ErrConflict when the email is taken.
func (db *DB) CreateUser(ctx context.Context, u User) (User, error) {
	if !validText(u.Email) || !validText(u.Name) {
		return User{}, fmt.Errorf("meta: create user: not valid UTF-8")
	}
	var out User
	err := db.write(ctx, func(q querier) error {
		t := now()
		var err error
		out, err = scanUser(q.QueryRowContext(ctx,
			`INSERT INTO users (team_id, email, name, role, password_hash, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING `+userCols,
			u.Team, u.Email, u.Name, u.Role, u.PasswordHash, t))
		return err
	})
	if err != nil {
		return User{}, db.conflict(err, "create user "+u.Email)
	}
	return out, nil
}

// UserByID returns a user; ErrNotFound if there is none.
func (db *DB) UserByID(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(db.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return User{}, notFound(err, fmt.Sprintf("user %d", id))
	}
	return u, nil
}

// UserByEmail returns a user by (already normalised) email.
func (db *DB) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(db.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email = $1`, email))
	if err != nil {
		return User{}, notFound(err, "user "+email)
	}
	return u, nil
}

// Users lists every user ordered by id.
func (db *DB) Users(ctx context.Context) ([]User, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("meta: list users: %w", err)
	}
	return collect(rows, scanUser, "list users")
}

// CountUsers returns how many users exist.
func (db *DB) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := db.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("meta: count users: %w", err)
	}
	return n, nil
}

// CreateSession stores a session by the hash of its secret.
func (db *DB) CreateSession(ctx context.Context, idHash string, user int64, expires time.Time) error {
	return db.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx,
			`INSERT INTO user_sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			idHash, user, now(), expires.UTC())
		if err != nil {
			return fmt.Errorf("meta: create session: %w", err)
		}
		return nil
	})
}

// Session returns the user and expiry of a session; ErrNotFound if there
// is none (expired sessions are returned; the caller judges them).
func (db *DB) Session(ctx context.Context, idHash string) (user int64, expires time.Time, err error) {
	err = db.q.QueryRowContext(ctx, `SELECT user_id, expires_at FROM user_sessions WHERE id_hash = $1`, idHash).Scan(&user, &expires)
	if err != nil {
		return 0, time.Time{}, notFound(err, "session")
	}
	return user, expires.UTC(), nil
}

// DeleteSession removes a session (logout); no error when it is gone.
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	return db.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM user_sessions WHERE id_hash = $1`, idHash); err != nil {
			return fmt.Errorf("meta: delete session: %w", err)
		}
		return nil
	})
}

// DeleteExpiredSessions removes sessions that expired before t.
func (db *DB) DeleteExpiredSessions(ctx context.Context, t time.Time) error {
	return db.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM user_sessions WHERE expires_at < $1`, t.UTC()); err != nil {
			return fmt.Errorf("meta: delete expired sessions: %w", err)
		}
		return nil
	})
}

// CreateSetupToken stores a one-time setup token by its hash.
func (db *DB) CreateSetupToken(ctx context.Context, tokenHash string, expires time.Time) error {
	return db.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx,
			`INSERT INTO setup_tokens (token_hash, created_at, expires_at, used) VALUES ($1, $2, $3, FALSE)`,
			tokenHash, now(), expires.UTC())
		if err != nil {
			return fmt.Errorf("meta: create setup token: %w", err)
		}
		return nil
	})
}

// ErrTokenUnusable means a setup token is unknown, used or expired.
var ErrTokenUnusable = errors.New("setup token is unknown, used or expired")

// CreateOwnerWithToken spends a setup token and creates u in one
// transaction: ErrTokenUnusable when the token is unknown, spent or expired
// at t, or when a user exists already (the setup link only makes the first
// user).
func (db *DB) CreateOwnerWithToken(ctx context.Context, tokenHash string, t time.Time, u User) (User, error) {
	var out User
	err := db.Tx(ctx, func(tx *DB) error {
		var used bool
		var expires time.Time
		err := tx.q.QueryRowContext(ctx, `SELECT used, expires_at FROM setup_tokens WHERE token_hash = $1`, tokenHash).Scan(&used, &expires)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (used || !t.Before(expires))) {
			return ErrTokenUnusable
		}
		if err != nil {
			return err
		}
		var n int64
		if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrTokenUnusable
		}
		if _, err := tx.q.ExecContext(ctx, `UPDATE setup_tokens SET used = TRUE WHERE token_hash = $1`, tokenHash); err != nil {
			return err
		}
		out, err = tx.CreateUser(ctx, u)
		return err
	})
	if errors.Is(err, ErrTokenUnusable) {
		return User{}, err
	}
	if err != nil {
		return User{}, fmt.Errorf("meta: create owner: %w", err)
	}
	return out, nil
}

// HistoryEntry is one query a user ran.
type HistoryEntry struct {
	ID        int64
	User      int64
	Env       event.EnvID
	Dataset   string
	Spec      string
	CreatedAt time.Time
}

// AddHistory records a query run by a user.
func (db *DB) AddHistory(ctx context.Context, h HistoryEntry) error {
	if !validText(h.Dataset) || !validText(h.Spec) {
		return fmt.Errorf("meta: add history: not valid UTF-8")
	}
	return db.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx,
			`INSERT INTO query_history (user_id, env_id, dataset, spec, created_at) VALUES ($1, $2, $3, $4, $5)`,
			h.User, int64(h.Env), h.Dataset, h.Spec, now())
		if err != nil {
			return fmt.Errorf("meta: add history: %w", err)
		}
		return nil
	})
}

// History lists a user's queries in env, newest first, at most limit.
func (db *DB) History(ctx context.Context, user int64, env event.EnvID, limit int) ([]HistoryEntry, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT id, user_id, env_id, dataset, spec, created_at FROM query_history
		 WHERE user_id = $1 AND env_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
		user, int64(env), limit)
	if err != nil {
		return nil, fmt.Errorf("meta: history: %w", err)
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (HistoryEntry, error) {
		var h HistoryEntry
		var env int64
		err := s.Scan(&h.ID, &h.User, &env, &h.Dataset, &h.Spec, &h.CreatedAt)
		h.Env, h.CreatedAt = event.EnvID(env), h.CreatedAt.UTC()
		return h, err
	}, "history")
}
