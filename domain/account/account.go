package account

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/tenancy"
)

// New is what it takes to create an account.
type New struct {
	ID                 uuid.UUID
	OrgID              uuid.UUID
	Email              Email
	FirstName          string
	LastName           string
	Role               tenancy.Role
	GroupID            uuid.UUID
	TagIDs             []uuid.UUID
	ImportID           uuid.UUID
	ImportRow          int
	MustChangePassword bool
}

// InvalidError says which field of a new account is wrong.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Message }

// Slug is the stable error code.
func (e *InvalidError) Slug() string { return "invalid-value" }

// Create checks a new account and returns the event that records it.
func Create(n New, now time.Time) (AccountCreated, error) {
	if n.ID == uuid.Nil || n.OrgID == uuid.Nil {
		return AccountCreated{}, errors.New("account: an account needs an id and an organization")
	}
	if n.Email.IsZero() {
		return AccountCreated{}, &InvalidError{"email", "The email address is missing."}
	}
	first, last := strings.TrimSpace(n.FirstName), strings.TrimSpace(n.LastName)
	if first == "" {
		return AccountCreated{}, &InvalidError{"first_name", "The first name is missing."}
	}
	if last == "" {
		return AccountCreated{}, &InvalidError{"last_name", "The last name is missing."}
	}
	if _, err := tenancy.ParseRole(string(n.Role)); err != nil {
		return AccountCreated{}, &InvalidError{"role", fmt.Sprint(err)}
	}
	return AccountCreated{
		AccountID: n.ID, OrgID: n.OrgID, Email: n.Email.String(), FirstName: first, LastName: last,
		Role: string(n.Role), GroupID: n.GroupID, TagIDs: n.TagIDs, ImportID: n.ImportID, ImportRow: n.ImportRow,
		MustChangePassword: n.MustChangePassword, CreatedAt: now.UTC(),
	}, nil
}
