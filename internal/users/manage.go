package users

import (
	"context"
	"errors"
	"fmt"

	"github.com/waggle-hq/waggle/internal/meta"
)

// ErrLastOwner refuses a change that would leave the team without an owner.
var ErrLastOwner = errors.New("the team must keep at least one owner")

// ErrNotFound means there is no such user.
var ErrNotFound = errors.New("no such user")

// forget drops cached sessions so that a change to a user or their sessions
// applies to the next request.
func (s *Service) forget() {
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

// SetRole changes a user's role. The last owner cannot be demoted.
func (s *Service) SetRole(ctx context.Context, id int64, role Role) (meta.User, error) {
	u, err := s.db.UserByID(ctx, id)
	if errors.Is(err, meta.ErrNotFound) {
		return meta.User{}, ErrNotFound
	}
	if err != nil {
		return meta.User{}, err
	}
	if Role(u.Role) == RoleOwner && role != RoleOwner {
		all, err := s.db.Users(ctx)
		if err != nil {
			return meta.User{}, err
		}
		owners := 0
		for _, x := range all {
			if Role(x.Role) == RoleOwner {
				owners++
			}
		}
		if owners <= 1 {
			return meta.User{}, ErrLastOwner
		}
	}
	if err := s.db.UpdateUserRole(ctx, id, string(role)); err != nil {
		return meta.User{}, err
	}
	s.forget()
	u.Role = string(role)
	return u, nil
}

// ChangePassword checks a user's current password and sets a new one,
// ending the user's other sessions (keepSecret's stays).
func (s *Service) ChangePassword(ctx context.Context, u meta.User, current, next, keepSecret string) error {
	fresh, err := s.db.UserByID(ctx, u.ID)
	if err != nil {
		return err
	}
	ok, err := s.verify(fresh.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		return ErrBadCredentials
	}
	if len(next) < MinPasswordLen || len(next) > 1024 {
		return fmt.Errorf("%w: %w", ErrInvalid, ErrWeakPassword)
	}
	h, err := s.hash(next)
	if err != nil {
		return err
	}
	if err := s.db.UpdateUserPassword(ctx, u.ID, h); err != nil {
		return err
	}
	_, err = s.RevokeOtherSessions(ctx, u.ID, keepSecret)
	return err
}

// RevokeOtherSessions ends every session of a user but keepSecret's (all of
// them when empty) and returns how many ended.
func (s *Service) RevokeOtherSessions(ctx context.Context, user int64, keepSecret string) (int64, error) {
	except := ""
	if keepSecret != "" {
		except = hashSecret(keepSecret)
	}
	n, err := s.db.DeleteUserSessions(ctx, user, except)
	s.forget()
	return n, err
}

// SessionCount returns how many sessions a user has open.
func (s *Service) SessionCount(ctx context.Context, user int64) (int64, error) {
	return s.db.CountUserSessions(ctx, user)
}
