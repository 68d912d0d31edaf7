package command_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
)

func TestCreateNamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	lincoln, other := e.org(t, "Lincoln High", false), e.org(t, "Other District", false)
	root := e.actor(t, lincoln, "root@lincoln.test", tenancy.RoleSystemAdmin, uuid.Nil)
	group := e.named(t, root, command.Groups, "Staff")
	admin := e.actor(t, lincoln, "ada@lincoln.test", tenancy.RoleAdmin, group)
	user := e.actor(t, lincoln, "uma@lincoln.test", tenancy.RoleUser, uuid.Nil)
	otherRoot := e.actor(t, other, "root@other.test", tenancy.RoleSystemAdmin, uuid.Nil)

	tests := []struct {
		name     string
		actor    tenancy.Actor
		kind     command.ReferenceKind
		input    string
		wantName string // "" = refused with wantSlug
		wantKind failure.Kind
		wantSlug string
	}{
		{"spaces are tidied", root, command.Groups, "  7B   North ", "7B North", 0, ""},
		{"a tag", root, command.Tags, "Robotics", "Robotics", 0, ""},
		{"a preset", root, command.Presets, "Student", "Student", 0, ""},
		{"100 characters", root, command.Tags, strings.Repeat("é", 100), strings.Repeat("é", 100), 0, ""},
		{"101 characters", root, command.Tags, strings.Repeat("é", 101), "", failure.Unprocessable, "invalid_value"},
		{"blank", root, command.Groups, " \t ", "", failure.Unprocessable, "invalid_value"},
		{"taken, in another case", root, command.Groups, "7b north", "", failure.Conflict, "name_taken"},
		{"same name, other kind", root, command.Tags, "7B North", "7B North", 0, ""},
		{"same name, other organization", otherRoot, command.Groups, "7B North", "7B North", 0, ""},
		{"a group administrator", admin, command.Groups, "8A", "", failure.Forbidden, "forbidden"},
		{"a user", user, command.Tags, "Chess", "", failure.Forbidden, "forbidden"},
	}
	for _, tt := range tests {
		n, err := e.reference.CreateNamed(ctx, command.CreateNamed{Actor: tt.actor, Kind: tt.kind, Name: tt.input})
		if tt.wantName == "" {
			requireAppError(t, err, tt.wantKind, tt.wantSlug)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if n.Name != tt.wantName || n.ID == uuid.Nil {
			t.Fatalf("%s: created %+v, want the name %q", tt.name, n, tt.wantName)
		}
	}

	// Each organization lists its own, by name; only administrators list.
	names := func(actor tenancy.Actor, kind command.ReferenceKind) string {
		t.Helper()
		list, err := e.reference.ListNamed(ctx, actor, kind)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range list {
			out = append(out, n.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(admin, command.Groups); got != "7B North,Staff" {
		t.Fatalf("Lincoln's groups, as its group administrator lists them: %s", got)
	}
	if got := names(otherRoot, command.Groups); got != "7B North" {
		t.Fatalf("the other organization's groups: %s", got)
	}
	if _, err := e.reference.ListNamed(ctx, user, command.Tags); err == nil {
		t.Fatal("a user listed the tags")
	} else {
		requireAppError(t, err, failure.Forbidden, "forbidden")
	}
}

func TestOrganizationSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	lincoln, other := e.org(t, "Lincoln High", false), e.org(t, "Other District", false)
	root := e.actor(t, lincoln, "root@lincoln.test", tenancy.RoleSystemAdmin, uuid.Nil)
	admin := e.actor(t, lincoln, "ada@lincoln.test", tenancy.RoleAdmin, uuid.Nil)
	user := e.actor(t, lincoln, "uma@lincoln.test", tenancy.RoleUser, uuid.Nil)

	if _, err := e.reference.UpdateOrganization(ctx, admin, command.OrganizationSettings{WelcomeEmailEnabled: &[]bool{true}[0]}); err == nil {
		t.Fatal("a group administrator changed the organization's settings")
	} else {
		requireAppError(t, err, failure.Forbidden, "forbidden")
	}
	org, err := e.reference.UpdateOrganization(ctx, root, command.OrganizationSettings{WelcomeEmailEnabled: &[]bool{true}[0]})
	if err != nil || !org.WelcomeEmailEnabled || org.ID != lincoln || org.Name != "Lincoln High" {
		t.Fatalf("turned on: %+v %v", org, err)
	}
	if org, err := e.reference.Organization(ctx, admin); err != nil || !org.WelcomeEmailEnabled {
		t.Fatalf("an administrator reads the settings: %+v %v", org, err)
	}
	if _, err := e.reference.Organization(ctx, user); err == nil {
		t.Fatal("a user read the organization's settings")
	} else {
		requireAppError(t, err, failure.Forbidden, "forbidden")
	}
	// The other organization is untouched.
	if o, err := e.tenancy.Organization(ctx, other); err != nil || o.WelcomeEmailEnabled {
		t.Fatalf("the other organization: %+v %v", o, err)
	}
}

// Sign in with Google's settings: on by default for any Google account; a
// system administrator limits it to Workspace domains (checked, stored
// lower-case) or turns it off, each part changed without the other; a
// group administrator cannot; the other organization keeps its own.
func TestGoogleSignInSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	lincoln, other := e.org(t, "Lincoln High", false), e.org(t, "Other District", false)
	root := e.actor(t, lincoln, "root@lincoln.test", tenancy.RoleSystemAdmin, uuid.Nil)
	admin := e.actor(t, lincoln, "ada@lincoln.test", tenancy.RoleAdmin, uuid.Nil)
	on, off := true, false
	domains := func(d ...string) *[]string { return &d }

	if org, err := e.reference.Organization(ctx, root); err != nil || !org.GoogleSignInEnabled || len(org.GoogleSignInDomains) != 0 {
		t.Fatalf("by default: %+v %v", org, err)
	}
	if _, err := e.reference.UpdateOrganization(ctx, admin, command.OrganizationSettings{GoogleSignInEnabled: &off}); err == nil {
		t.Fatal("a group administrator turned Google sign-in off")
	} else {
		requireAppError(t, err, failure.Forbidden, "forbidden")
	}
	if _, err := e.reference.UpdateOrganization(ctx, root, command.OrganizationSettings{GoogleSignInDomains: domains("lincoln.test", "not a domain")}); err == nil {
		t.Fatal("a bad domain was stored")
	} else {
		requireAppError(t, err, failure.Unprocessable, "invalid_value")
	}
	org, err := e.reference.UpdateOrganization(ctx, root, command.OrganizationSettings{GoogleSignInDomains: domains("Lincoln.TEST", "staff.lincoln.test", "lincoln.test")})
	if err != nil || !org.GoogleSignInEnabled || !reflect.DeepEqual(org.GoogleSignInDomains, []string{"lincoln.test", "staff.lincoln.test"}) {
		t.Fatalf("domains: %+v %v", org, err)
	}
	org, err = e.reference.UpdateOrganization(ctx, root, command.OrganizationSettings{GoogleSignInEnabled: &off})
	if err != nil || org.GoogleSignInEnabled || len(org.GoogleSignInDomains) != 2 {
		t.Fatalf("turned off, domains kept: %+v %v", org, err)
	}
	org, err = e.reference.UpdateOrganization(ctx, root, command.OrganizationSettings{GoogleSignInEnabled: &on, GoogleSignInDomains: domains()})
	if err != nil || !org.GoogleSignInEnabled || len(org.GoogleSignInDomains) != 0 {
		t.Fatalf("on for any Google account: %+v %v", org, err)
	}
	if _, err := e.reference.UpdateOrganization(ctx, root, command.OrganizationSettings{GoogleSignInEnabled: &off}); err != nil {
		t.Fatal(err)
	}
	if o, err := e.tenancy.Organization(ctx, other); err != nil || !o.GoogleSignInEnabled {
		t.Fatalf("the other organization: %+v %v", o, err)
	}
}

func TestCreateOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, tt := range []struct{ input, want string }{
		{"  Lincoln   High ", "Lincoln High"},
		{"", ""},
		{"   ", ""},
	} {
		id, err := e.reference.CreateOrganization(ctx, tt.input)
		if tt.want == "" {
			requireAppError(t, err, failure.Unprocessable, "invalid_value")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if o, err := e.tenancy.Organization(ctx, id); err != nil || o.Name != tt.want {
			t.Fatalf("%q stored as %+v %v", tt.input, o, err)
		}
	}
}
