package users

import "github.com/waggle-hq/waggle/internal/tenant"

// Role is what a user may do in every environment of their team.
type Role string

// The roles.
const (
	// RoleOwner may do everything, including managing users, environments
	// and keys.
	RoleOwner Role = "owner"
	// RoleMember queries and manages queries, boards, triggers, markers,
	// SLOs and recipients, and may send events and create datasets.
	RoleMember Role = "member"
	// RoleViewer only runs queries.
	RoleViewer Role = "viewer"
)

// ParseRole returns the role named s.
func ParseRole(s string) (Role, bool) {
	switch r := Role(s); r {
	case RoleOwner, RoleMember, RoleViewer:
		return r, true
	}
	return "", false
}

// Perms returns the permissions a role grants.
func (r Role) Perms() map[tenant.Permission]bool {
	m := map[tenant.Permission]bool{}
	switch r {
	case RoleOwner:
		for _, p := range tenant.AllPermissions {
			m[p] = true
		}
	case RoleMember:
		for _, p := range []tenant.Permission{
			tenant.PermRunQueries, tenant.PermManageQueries, tenant.PermSendEvents, tenant.PermCreateDatasets,
			tenant.PermManageMarkers, tenant.PermManageBoards, tenant.PermManageTriggers, tenant.PermManageSLOs,
			tenant.PermManageRecipients,
		} {
			m[p] = true
		}
	case RoleViewer:
		m[tenant.PermRunQueries] = true
	}
	return m
}
