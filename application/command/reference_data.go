package command

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// ReferenceKind is groups, tags or presets.
type ReferenceKind string

const (
	Groups  ReferenceKind = "groups"
	Tags    ReferenceKind = "tags"
	Presets ReferenceKind = "presets"
)

// singular names a kind in messages.
func (k ReferenceKind) singular() string { return strings.TrimSuffix(string(k), "s") }

// Named is a group, tag or preset.
type Named struct {
	ID   uuid.UUID
	Name string
}

// Organization is a tenant and its settings.
type Organization struct {
	ID                  uuid.UUID
	Name                string
	WelcomeEmailEnabled bool
	// ChangeThresholdPercent: a commit that would change more than this
	// share of the organization's accounts (and more than 20) must be
	// confirmed with the exact number; 0 turns the guard off.
	ChangeThresholdPercent int
	// GoogleSignInEnabled and GoogleSignInDomains are its rules for Sign in
	// with Google (account.GoogleSignInPolicy).
	GoogleSignInEnabled bool
	GoogleSignInDomains []string
}

// GoogleSignInPolicy is the organization's say on Sign in with Google.
func (o Organization) GoogleSignInPolicy() account.GoogleSignInPolicy {
	return account.GoogleSignInPolicy{Enabled: o.GoogleSignInEnabled, Domains: o.GoogleSignInDomains}
}

// ReferenceData stores organizations and their groups, tags and presets.
type ReferenceData interface {
	CreateOrganization(ctx context.Context, org Organization) error
	Organization(ctx context.Context, id uuid.UUID) (Organization, error)
	SetWelcomeEmail(ctx context.Context, id uuid.UUID, enabled bool) error
	SetChangeThreshold(ctx context.Context, id uuid.UUID, percent int) error
	SetGoogleSignIn(ctx context.Context, id uuid.UUID, policy account.GoogleSignInPolicy) error
	CreateNamed(ctx context.Context, kind ReferenceKind, orgID uuid.UUID, n Named) error
	ListNamed(ctx context.Context, kind ReferenceKind, orgID uuid.UUID) ([]Named, error)
}

// CreateNamed adds a group, tag or preset to the actor's organization.
type CreateNamed struct {
	Actor tenancy.Actor
	Kind  ReferenceKind
	Name  string
}

// ReferenceHandler handles the reference-data commands; they are small
// enough to share one handler.
type ReferenceHandler struct {
	store ReferenceData
}

// NewReferenceHandler refuses a nil store.
func NewReferenceHandler(store ReferenceData) (*ReferenceHandler, error) {
	if store == nil {
		return nil, errors.New("command: NewReferenceHandler needs a store")
	}
	return &ReferenceHandler{store: store}, nil
}

// CreateNamed returns the new object.
func (h *ReferenceHandler) CreateNamed(ctx context.Context, cmd CreateNamed) (Named, error) {
	if !cmd.Actor.Role.IsSystemAdmin() {
		return Named{}, failure.New(failure.Forbidden, "forbidden", "Only a system administrator can create %s.", cmd.Kind)
	}
	name := strings.Join(strings.Fields(cmd.Name), " ")
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return Named{}, failure.New(failure.Unprocessable, "invalid_value", "Give the %s a name of 1 to 100 characters.", cmd.Kind.singular())
	}
	n := Named{ID: uuid.New(), Name: name}
	err := h.store.CreateNamed(ctx, cmd.Kind, cmd.Actor.OrgID, n)
	if errors.Is(err, ErrDuplicate) {
		return Named{}, failure.New(failure.Conflict, "name_taken", "A %s named %q already exists.", cmd.Kind.singular(), name)
	}
	return n, err
}

// ListNamed lists the actor's organization's groups, tags or presets.
func (h *ReferenceHandler) ListNamed(ctx context.Context, actor tenancy.Actor, kind ReferenceKind) ([]Named, error) {
	if !actor.Role.CanImport() {
		return nil, failure.New(failure.Forbidden, "forbidden", "Only administrators can see %s.", kind)
	}
	return h.store.ListNamed(ctx, kind, actor.OrgID)
}

// Organization returns the actor's organization.
func (h *ReferenceHandler) Organization(ctx context.Context, actor tenancy.Actor) (Organization, error) {
	if !actor.Role.CanImport() {
		return Organization{}, failure.New(failure.Forbidden, "forbidden", "Only administrators can see the organization's settings.")
	}
	return h.store.Organization(ctx, actor.OrgID)
}

// OrganizationSettings are the settings to change; nil leaves one as it is.
type OrganizationSettings struct {
	WelcomeEmailEnabled    *bool
	ChangeThresholdPercent *int
	GoogleSignInEnabled    *bool
	// GoogleSignInDomains: an empty list allows any Google account.
	GoogleSignInDomains *[]string
}

// UpdateOrganization changes the organization's settings.
func (h *ReferenceHandler) UpdateOrganization(ctx context.Context, actor tenancy.Actor, s OrganizationSettings) (Organization, error) {
	if !actor.Role.IsSystemAdmin() {
		return Organization{}, failure.New(failure.Forbidden, "forbidden", "Only a system administrator can change the organization's settings.")
	}
	if p := s.ChangeThresholdPercent; p != nil && (*p < 0 || *p > 100) {
		return Organization{}, failure.New(failure.Unprocessable, "invalid_value",
			"change_threshold_percent must be a whole number from 0 (no confirmation ever asked) to 100.")
	}
	var domains []string
	if s.GoogleSignInDomains != nil {
		var err error
		if domains, err = account.ParseGoogleDomains(*s.GoogleSignInDomains); err != nil {
			return Organization{}, err
		}
	}
	if s.GoogleSignInEnabled != nil || s.GoogleSignInDomains != nil {
		org, err := h.store.Organization(ctx, actor.OrgID)
		if err != nil {
			return Organization{}, err
		}
		policy := org.GoogleSignInPolicy()
		if s.GoogleSignInEnabled != nil {
			policy.Enabled = *s.GoogleSignInEnabled
		}
		if s.GoogleSignInDomains != nil {
			policy.Domains = domains
		}
		if err := h.store.SetGoogleSignIn(ctx, actor.OrgID, policy); err != nil {
			return Organization{}, err
		}
	}
	if s.WelcomeEmailEnabled != nil {
		if err := h.store.SetWelcomeEmail(ctx, actor.OrgID, *s.WelcomeEmailEnabled); err != nil {
			return Organization{}, err
		}
	}
	if s.ChangeThresholdPercent != nil {
		if err := h.store.SetChangeThreshold(ctx, actor.OrgID, *s.ChangeThresholdPercent); err != nil {
			return Organization{}, err
		}
	}
	return h.store.Organization(ctx, actor.OrgID)
}

// CreateOrganization adds a tenant (from the command line).
func (h *ReferenceHandler) CreateOrganization(ctx context.Context, name string) (uuid.UUID, error) {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return uuid.Nil, failure.New(failure.Unprocessable, "invalid_value", "Give the organization a name.")
	}
	org := Organization{ID: uuid.New(), Name: name}
	return org.ID, h.store.CreateOrganization(ctx, org)
}
