package command_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// uploadsKept lists the encrypted uploads on disk.
func (e *env) uploadsKept(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(e.uploadDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range entries {
		names = append(names, d.Name())
	}
	return names
}

// A refused upload leaves neither a file nor an event behind.
func TestUploadRefusalsKeepNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	lincoln, other := e.org(t, "Lincoln High", false), e.org(t, "Other District", false)
	root := e.actor(t, lincoln, "root@lincoln.test", tenancy.RoleSystemAdmin, uuid.Nil)
	group := e.named(t, root, command.Groups, "Staff")
	admin := e.actor(t, lincoln, "ada@lincoln.test", tenancy.RoleAdmin, group)
	user := e.actor(t, lincoln, "uma@lincoln.test", tenancy.RoleUser, uuid.Nil)
	otherRoot := e.actor(t, other, "root@other.test", tenancy.RoleSystemAdmin, uuid.Nil)
	theirPreset := e.named(t, otherRoot, command.Presets, "Theirs")

	tests := []struct {
		name     string
		actor    tenancy.Actor
		file     string
		cmd      func(*command.UploadFile)
		wantKind failure.Kind // 0 with wantCode: a domain error
		wantSlug string
	}{
		{"a user", user, peopleCSV, nil, failure.Forbidden, "forbidden"},
		{"a preset of no one", root, peopleCSV, func(c *command.UploadFile) { c.PresetID = uuid.New() }, failure.Unprocessable, "invalid_value"},
		{"another organization's preset", root, peopleCSV, func(c *command.UploadFile) { c.PresetID = theirPreset }, failure.Unprocessable, "invalid_value"},
		{"welcome emails turned off", root, peopleCSV, func(c *command.UploadFile) { c.SendWelcomeEmail = true }, 0, "invalid_value"},
		{"a group administrator importing administrators", admin, peopleCSV, func(c *command.UploadFile) { c.AccountType = "administrators" }, 0, "forbidden"},
		{"no such account type", root, peopleCSV, func(c *command.UploadFile) { c.AccountType = "robots" }, 0, "invalid_value"},
		{"binary junk", root, "\x00\x01\x02\x03\xfe\x07\x00\x01\x02", nil, failure.Unsupported, "unsupported_file_type"},
		{"a header and no people", root, "First Name,Last Name,Email\n", nil, failure.Unprocessable, "header_only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, err := e.wizard.StoreUpload(ctx, strings.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			cmd := command.UploadFile{Actor: tt.actor, FileName: "people.csv", File: stored}
			if tt.cmd != nil {
				tt.cmd(&cmd)
			}
			_, err = e.wizard.Upload(ctx, cmd)
			if tt.wantKind != 0 {
				requireAppError(t, err, tt.wantKind, tt.wantSlug)
			} else {
				requireCode(t, err, tt.wantSlug)
			}
			if kept := e.uploadsKept(t); len(kept) != 0 {
				t.Fatalf("the refused upload was kept: %v", kept)
			}
		})
	}
	// Past the size limit the file is refused while it streams in.
	_, err := e.wizard.StoreUpload(ctx, bytes.NewReader(bytes.Repeat([]byte("a,b,c@d.test\n"), maxUpload/10)))
	requireAppError(t, err, failure.TooLarge, "file_too_large")
	if kept := e.uploadsKept(t); len(kept) != 0 {
		t.Fatalf("the file past the limit was kept: %v", kept)
	}
	if n := countEvents(t, e, "FileUploaded"); n != 0 {
		t.Fatalf("%d FileUploaded events after refusals only", n)
	}

	// Accepted: the file stays (encrypted) for the next steps.
	imp := e.upload(t, admin, peopleCSV)
	f := imp.File()
	if f.Rows != 2 || strings.Join(f.Headers, ",") != "First Name,Last Name,Email,Password" || imp.AccountType() != "users" || len(e.uploadsKept(t)) != 1 {
		t.Fatalf("uploaded: %+v, account type %q, kept %v", f, imp.AccountType(), e.uploadsKept(t))
	}
}

// Every step is the importer's (or a system administrator's of the same
// organization) and nobody else's: to anyone else the import does not exist.
func TestWizardStepsAreTheImportersOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	lincoln, other := e.org(t, "Lincoln High", false), e.org(t, "Other District", false)
	root := e.actor(t, lincoln, "root@lincoln.test", tenancy.RoleSystemAdmin, uuid.Nil)
	group := e.named(t, root, command.Groups, "Staff")
	ada := e.actor(t, lincoln, "ada@lincoln.test", tenancy.RoleAdmin, group)
	ben := e.actor(t, lincoln, "ben@lincoln.test", tenancy.RoleAdmin, group)
	otherRoot := e.actor(t, other, "root@other.test", tenancy.RoleSystemAdmin, uuid.Nil)
	imp := e.upload(t, ada, peopleCSV)
	columns := imp.File().SuggestedMapping

	steps := map[string]func(tenancy.Actor) error{
		"map columns": func(a tenancy.Actor) error {
			_, err := e.wizard.MapColumns(ctx, command.MapColumns{Actor: a, ImportID: imp.ID(), Columns: columns})
			return err
		},
		"choose defaults": func(a tenancy.Actor) error {
			_, err := e.wizard.ChooseDefaults(ctx, command.ChooseDefaults{Actor: a, ImportID: imp.ID(), Password: secret.New("Their-Default-1")})
			return err
		},
		"start validation": func(a tenancy.Actor) error {
			_, err := e.wizard.StartValidation(ctx, command.ImportCommand{Actor: a, ImportID: imp.ID()})
			return err
		},
		"cancel": func(a tenancy.Actor) error {
			_, err := e.wizard.Cancel(ctx, command.ImportCommand{Actor: a, ImportID: imp.ID()})
			return err
		},
		"commit": func(a tenancy.Actor) error {
			_, err := e.wizard.Commit(ctx, command.Commit{Actor: a, ImportID: imp.ID()})
			return err
		},
	}
	for name, step := range steps {
		for _, outsider := range []tenancy.Actor{ben, otherRoot} {
			t.Run(name+" by "+outsider.Email, func(t *testing.T) { requireCode(t, step(outsider), "not_found") })
		}
	}
	if _, ok, err := e.secrets.DefaultPassword(ctx, imp.ID()); ok || err != nil {
		t.Fatalf("an outsider's default password was stored (%v)", err)
	}
	if n := countEvents(t, e, "ImportCancelled") + countEvents(t, e, "ColumnsMapped"); n != 0 {
		t.Fatalf("outsiders recorded %d events", n)
	}
	// The organization's system administrator may carry on, the importer too.
	if _, err := e.wizard.MapColumns(ctx, command.MapColumns{Actor: root, ImportID: imp.ID(), Columns: columns}); err != nil {
		t.Fatal(err)
	}
	// A mapping without email is refused with the reason; a group
	// administrator may not map a group column.
	_, err := e.wizard.MapColumns(ctx, command.MapColumns{Actor: ada, ImportID: imp.ID(), Columns: map[string]string{"First Name": "first_name", "Last Name": "last_name"}})
	requireCode(t, err, "invalid_mapping")
	_, err = e.wizard.MapColumns(ctx, command.MapColumns{Actor: ada, ImportID: imp.ID(), Columns: map[string]string{
		"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Password": "group"}})
	requireCode(t, err, "forbidden")

	// The actor and correlation id of each step are on its event.
	if _, err := e.wizard.MapColumns(ctx, command.MapColumns{Actor: ada, CorrelationID: "req-42", ImportID: imp.ID(), Columns: columns}); err != nil {
		t.Fatal(err)
	}
	recorded, err := e.store.Load(ctx, importsession.StreamID(imp.ID()))
	if err != nil {
		t.Fatal(err)
	}
	last := recorded[len(recorded)-1].Metadata
	if last.ActorID != ada.ID.String() || last.OrgID != lincoln.String() || last.CorrelationID != "req-42" {
		t.Fatalf("metadata of the last step: %+v", last)
	}
}

func TestChooseDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	lincoln, other := e.org(t, "Lincoln High", false), e.org(t, "Other District", false)
	root := e.actor(t, lincoln, "root@lincoln.test", tenancy.RoleSystemAdmin, uuid.Nil)
	staff := e.named(t, root, command.Groups, "Staff")
	robotics := e.named(t, root, command.Tags, "Robotics")
	otherRoot := e.actor(t, other, "root@other.test", tenancy.RoleSystemAdmin, uuid.Nil)
	theirGroup := e.named(t, otherRoot, command.Groups, "Theirs")
	theirTag := e.named(t, otherRoot, command.Tags, "Theirs")
	imp := e.mapped(t, root)
	id := imp.ID()

	stored := func() string {
		t.Helper()
		pw, ok, err := e.secrets.DefaultPassword(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return ""
		}
		return pw.Reveal()
	}
	refusals := []struct {
		name     string
		cmd      command.ChooseDefaults
		wantKind failure.Kind
		wantSlug string
	}{
		{"a password the policy refuses", command.ChooseDefaults{Password: secret.New("short")}, failure.Unprocessable, "password_policy"},
		{"another organization's group", command.ChooseDefaults{Password: secret.New("Default-Pass-1"), GroupID: theirGroup}, failure.Unprocessable, "invalid_value"},
		{"another organization's tag", command.ChooseDefaults{Password: secret.New("Default-Pass-1"), TagIDs: []uuid.UUID{robotics, theirTag}}, failure.Unprocessable, "invalid_value"},
		{"a tag of no one", command.ChooseDefaults{Password: secret.New("Default-Pass-1"), TagIDs: []uuid.UUID{uuid.New()}}, failure.Unprocessable, "invalid_value"},
	}
	for _, tt := range refusals {
		tt.cmd.Actor, tt.cmd.ImportID = root, id
		_, err := e.wizard.ChooseDefaults(ctx, tt.cmd)
		t.Run(tt.name, func(t *testing.T) { requireAppError(t, err, tt.wantKind, tt.wantSlug) })
	}
	if pw := stored(); pw != "" {
		t.Fatalf("a refused default password was stored: %q", pw)
	}
	_, err := e.wizard.ChooseDefaults(ctx, command.ChooseDefaults{Actor: otherRoot, ImportID: id, Password: secret.New("Their-Default-1")})
	requireCode(t, err, "not_found")
	if pw := stored(); pw != "" {
		t.Fatal("another organization stored a default password for this import")
	}

	// Accepted: the password is stored encrypted, the event says only that
	// there is one.
	imp, err = e.wizard.ChooseDefaults(ctx, command.ChooseDefaults{Actor: root, ImportID: id, Password: secret.New("Default-Pass-1"),
		ForcePasswordChange: true, GroupID: staff, TagIDs: []uuid.UUID{robotics}})
	if err != nil {
		t.Fatal(err)
	}
	if d := imp.Defaults(); !d.PasswordSet || !d.ForcePasswordChange || d.GroupID != staff || len(d.TagIDs) != 1 || stored() != "Default-Pass-1" {
		t.Fatalf("defaults %+v, stored %q", d, stored())
	}
	// Shown again on resume, the form cannot show the password: keeping it
	// keeps the stored one; leaving it out without keeping it means none.
	for _, tt := range []struct {
		keep bool
		want bool
	}{{true, true}, {false, false}} {
		imp, err = e.wizard.ChooseDefaults(ctx, command.ChooseDefaults{Actor: root, ImportID: id, KeepPassword: tt.keep})
		if err != nil {
			t.Fatal(err)
		}
		if imp.Defaults().PasswordSet != tt.want {
			t.Fatalf("keep %v: password set %v", tt.keep, imp.Defaults().PasswordSet)
		}
	}
	if _, err := e.wizard.ChooseDefaults(ctx, command.ChooseDefaults{Actor: root, ImportID: id, Password: secret.New("Default-Pass-2"), ForcePasswordChange: true}); err != nil {
		t.Fatal(err)
	}

	// Once committed, the defaults are final: a new password is refused and
	// must not replace the one the commit is using.
	e.validated(t, root, id, 2, 0, 0)
	if _, err := e.wizard.Verify(ctx, command.Verify{Actor: root, ImportID: id, Skip: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.wizard.Commit(ctx, command.Commit{Actor: root, ImportID: id}); err != nil {
		t.Fatal(err)
	}
	_, err = e.wizard.ChooseDefaults(ctx, command.ChooseDefaults{Actor: root, ImportID: id, Password: secret.New("Changed-Meanwhile-3")})
	requireCode(t, err, "wrong_wizard_step")
	if pw := stored(); pw != "Default-Pass-2" {
		t.Fatalf("a refused step replaced the default password the commit uses: now %q", pw)
	}
	var payloads string
	if err := e.pool.QueryRow(ctx, `SELECT string_agg(payload::text, ' ') FROM events`).Scan(&payloads); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"Default-Pass-1", "Default-Pass-2", "Own-Pass-1234"} {
		if strings.Contains(payloads, pw) {
			t.Fatalf("an event holds the password %q", pw)
		}
	}
}

// The steps after validation: verification, commit, cancel.
func TestVerifyCommitAndCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	lincoln := e.org(t, "Lincoln High", false)
	root := e.actor(t, lincoln, "root@lincoln.test", tenancy.RoleSystemAdmin, uuid.Nil)
	cmd := func(id uuid.UUID) command.ImportCommand { return command.ImportCommand{Actor: root, ImportID: id} }
	withDefaults := func() uuid.UUID {
		imp := e.mapped(t, root)
		if _, err := e.wizard.ChooseDefaults(ctx, command.ChooseDefaults{Actor: root, ImportID: imp.ID(), Password: secret.New("Default-Pass-1")}); err != nil {
			t.Fatal(err)
		}
		return imp.ID()
	}

	// 150 rows are two pages; both must be looked at, or the review skipped.
	id := withDefaults()
	_, err := e.wizard.Commit(ctx, commitOf(cmd(id)))
	requireCode(t, err, "wrong_wizard_step")
	e.validated(t, root, id, 140, 5, 5)
	_, err = e.wizard.Verify(ctx, command.Verify{Actor: root, ImportID: id, Page: 3})
	requireCode(t, err, "invalid_value")
	if _, err := e.wizard.Verify(ctx, command.Verify{Actor: root, ImportID: id, Page: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = e.wizard.Commit(ctx, commitOf(cmd(id)))
	requireCode(t, err, "verification_incomplete")
	if _, err := e.wizard.Verify(ctx, command.Verify{Actor: root, ImportID: id, Page: 2}); err != nil {
		t.Fatal(err)
	}
	imp, err := e.wizard.Commit(ctx, commitOf(cmd(id)))
	if err != nil || imp.State() != importsession.StateCommitting {
		t.Fatalf("commit: %v %v", imp, err)
	}
	_, err = e.wizard.Commit(ctx, commitOf(cmd(id)))
	requireCode(t, err, "wrong_wizard_step")
	_, err = e.wizard.Cancel(ctx, cmd(id))
	requireCode(t, err, "wrong_wizard_step")

	// Nothing valid: nothing to commit. Cancelled: nothing more to do.
	id = withDefaults()
	e.validated(t, root, id, 0, 0, 2)
	if _, err := e.wizard.Verify(ctx, command.Verify{Actor: root, ImportID: id, Skip: true}); err != nil {
		t.Fatal(err)
	}
	_, err = e.wizard.Commit(ctx, commitOf(cmd(id)))
	requireCode(t, err, "nothing_to_import")
	if imp, err := e.wizard.Cancel(ctx, cmd(id)); err != nil || imp.State() != importsession.StateCancelled {
		t.Fatalf("cancel: %v", err)
	}
	_, err = e.wizard.StartValidation(ctx, cmd(id))
	requireCode(t, err, "wrong_wizard_step")
}

func commitOf(c command.ImportCommand) command.Commit {
	return command.Commit{Actor: c.Actor, CorrelationID: c.CorrelationID, ImportID: c.ImportID}
}
