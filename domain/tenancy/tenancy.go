// Package tenancy holds who acts and in which organization: every command
// carries an Actor, and nothing crosses an organization's boundary.
package tenancy

import (
	"fmt"

	"github.com/google/uuid"
)

// Role is what an account may do.
type Role string

const (
	// RoleSystemAdmin manages the whole organization: imports users or
	// administrators, chooses groups, manages groups, tags and presets.
	RoleSystemAdmin Role = "system_admin"
	// RoleAdmin imports users into their own group.
	RoleAdmin Role = "admin"
	// RoleUser signs in and changes their password.
	RoleUser Role = "user"
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleSystemAdmin, RoleAdmin, RoleUser:
		return r, nil
	}
	return "", fmt.Errorf("%q is not a role; use system_admin, admin or user", s)
}

// CanImport reports whether the role may run imports.
func (r Role) CanImport() bool { return r == RoleSystemAdmin || r == RoleAdmin }

// IsSystemAdmin reports whether the role is organization-wide.
func (r Role) IsSystemAdmin() bool { return r == RoleSystemAdmin }

// Actor is the signed-in account a command acts for.
type Actor struct {
	ID      uuid.UUID
	OrgID   uuid.UUID
	Email   string
	Role    Role
	GroupID uuid.UUID // uuid.Nil when the account has no group
}
