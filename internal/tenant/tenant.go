// Package tenant models waggle's tenancy: a team owns environments, an
// environment owns datasets and API keys, and a key carries permissions. Every
// request is authenticated to a Principal, and everything it reads or writes is
// scoped to the Principal's environment.
//
// Service is the implementation: it keeps tenancy in the metadata database
// (package meta), authenticates from an in-memory snapshot so that no request
// touches the database in the steady state, and creates the first team,
// environment and key on first start (Bootstrap).
//
// Credentials come in kinds (KeyKind). API keys (KindAPI) are random bearer
// secrets that are only ever checked, so only their SHA-256 hash is stored.
// AWS access key pairs (SigV4) must be recoverable and are stored encrypted.
// Another bearer-token kind, such as Rollbar access tokens, is a new KeyKind
// with its own secret format and permissions, kept in the same table and
// authenticated by the same lookup.
package tenant

import (
	"context"
	"errors"
	"time"

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
	// PermManageEnvironments is team administration (Honeycomb's management
	// key scopes environments:write and api-keys:write): create, change and
	// delete the team's environments and manage keys in any of them. It
	// grants no access to another environment's data.
	PermManageEnvironments Permission = "manage_environments"
)

// ParsePermission returns the permission named s.
func ParsePermission(s string) (Permission, bool) {
	for _, p := range AllPermissions {
		if string(p) == s {
			return p, true
		}
	}
	return "", false
}

// AllPermissions lists every permission, in a stable order.
var AllPermissions = []Permission{
	PermSendEvents, PermCreateDatasets, PermRunQueries, PermManageQueries, PermManageKeys,
	PermManageMarkers, PermManageTriggers, PermManageBoards, PermManageSLOs, PermManageRecipients,
	PermManageEnvironments,
}

// Team is the top of the tenancy tree.
type Team struct {
	ID   int64
	Name string
	Slug string
}

// Environment holds datasets and keys; no query crosses environments.
type Environment struct {
	ID          event.EnvID
	Team        int64
	Name        string
	Slug        string
	Description string
	Color       string
	// DeleteProtected environments cannot be deleted until it is cleared.
	DeleteProtected bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Principal is an authenticated key. Principals returned by a Service are
// shared between requests: callers must not modify them.
type Principal struct {
	KeyID   string
	KeyName string
	// Kind is the kind of credential that authenticated.
	Kind  KeyKind
	Team  Team
	Env   Environment
	Perms map[Permission]bool
}

// Can reports whether the principal holds perm.
func (p *Principal) Can(perm Permission) bool { return p != nil && p.Perms[perm] }

// Authenticator resolves a presented key secret to a Principal. It returns
// ErrUnknownKey (possibly wrapped) for a wrong, disabled or empty secret.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*Principal, error)
}
