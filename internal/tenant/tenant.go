// Package tenant models waggle's tenancy: a team owns environments, an
// environment owns datasets and API keys, and a key carries permissions. Every
// request is authenticated to a Principal, and everything it reads or writes is
// scoped to the Principal's environment.
package tenant

import (
	"context"
	"errors"

	"github.com/waggle-hq/waggle/internal/event"
)

// ErrUnknownKey means the presented secret matches no enabled key.
var ErrUnknownKey = errors.New("unknown API key")

// Permission is one thing a key may do. The names follow Honeycomb's API key
// permissions.
type Permission string

// The permissions a key can carry.
const (
	PermSendEvents     Permission = "send_events"
	PermCreateDatasets Permission = "create_datasets"
	PermRunQueries     Permission = "run_queries"
	// PermManageQueries is Honeycomb's "Manage Queries and Columns".
	PermManageQueries    Permission = "manage_queries"
	PermManageKeys       Permission = "manage_keys"
	PermManageMarkers    Permission = "manage_markers"
	PermManageTriggers   Permission = "manage_triggers"
	PermManageBoards     Permission = "manage_boards"
	PermManageSLOs       Permission = "manage_slos"
	PermManageRecipients Permission = "manage_recipients"
)

// AllPermissions lists every permission, in a stable order.
var AllPermissions = []Permission{
	PermSendEvents, PermCreateDatasets, PermRunQueries, PermManageQueries, PermManageKeys,
	PermManageMarkers, PermManageTriggers, PermManageBoards, PermManageSLOs, PermManageRecipients,
}

// Team is the top of the tenancy tree.
type Team struct {
	ID   int64
	Name string
	Slug string
}

// Environment holds datasets and keys; no query crosses environments.
type Environment struct {
	ID   event.EnvID
	Team int64
	Name string
	Slug string
}

// Principal is an authenticated key.
type Principal struct {
	KeyID   string
	KeyName string
	Team    Team
	Env     Environment
	Perms   map[Permission]bool
}

// Can reports whether the principal holds perm.
func (p *Principal) Can(perm Permission) bool { return p != nil && p.Perms[perm] }

// Authenticator resolves a presented key secret to a Principal. It returns
// ErrUnknownKey (possibly wrapped) for a wrong, disabled or empty secret.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*Principal, error)
}
