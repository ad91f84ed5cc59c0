package meta

import (
	"context"
	"fmt"
)

// Changes to web UI accounts made from its settings page (package users):
// a role, a password, and ending a user's sessions.

// UpdateUserRole sets a user's role; ErrNotFound if there is no such user.
func (db *DB) UpdateUserRole(ctx context.Context, id int64, role string) error {
	return db.updateUser(ctx, id, "role", role)
}

// UpdateUserPassword sets a user's password hash; ErrNotFound if there is
// no such user.
func (db *DB) UpdateUserPassword(ctx context.Context, id int64, hash string) error {
	return db.updateUser(ctx, id, "password_hash", hash)
}

func (db *DB) updateUser(ctx context.Context, id int64, col, v string) error {
	return db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE users SET `+col+` = $1, updated_at = $2 WHERE id = $3`, v, now(), id)
		if err != nil {
			return fmt.Errorf("meta: update user %s: %w", col, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("user %d: %w", id, ErrNotFound)
		}
		return nil
	})
}

// DeleteUserSessions ends every session of a user but the one whose hash
// is except (none when empty), returning how many ended.
func (db *DB) DeleteUserSessions(ctx context.Context, user int64, except string) (int64, error) {
	var n int64
	err := db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1 AND id_hash <> $2`, user, except)
		if err != nil {
			return fmt.Errorf("meta: delete user sessions: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// CountUserSessions returns how many live or expired sessions a user has.
func (db *DB) CountUserSessions(ctx context.Context, user int64) (int64, error) {
	var n int64
	if err := db.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_sessions WHERE user_id = $1`, user).Scan(&n); err != nil {
		return 0, fmt.Errorf("meta: count user sessions: %w", err)
	}
	return n, nil
}
