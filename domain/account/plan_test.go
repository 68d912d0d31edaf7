package account

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/tenancy"
)

var (
	when     = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	org      = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	otherOrg = uuid.MustParse("00000000-0000-0000-0000-0000000000a2")
	g1       = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	g2       = uuid.MustParse("00000000-0000-0000-0000-0000000000c2")
	t1       = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	t2       = uuid.MustParse("00000000-0000-0000-0000-0000000000d2")
	imp      = uuid.MustParse("00000000-0000-0000-0000-0000000000e1")
	sysAdmin = tenancy.Actor{ID: uuid.MustParse("00000000-0000-0000-0000-000000000001"), OrgID: org, Role: tenancy.RoleSystemAdmin}
	groupAdm = tenancy.Actor{ID: uuid.MustParse("00000000-0000-0000-0000-000000000002"), OrgID: org, Role: tenancy.RoleAdmin, GroupID: g1}
)

// holder is an existing account as the write side stores it.
func holder(email string, role tenancy.Role, group uuid.UUID, tags []uuid.UUID, active bool) *Account {
	return FromSnapshot(Snapshot{ID: uuid.NewSHA1(org, []byte(email)), OrgID: org, Email: email, FirstName: "Kim", LastName: "Lee",
		Role: role, GroupID: group, TagIDs: tags, Active: active, Version: 3})
}

func row(number int, email string) ImportRow {
	e, err := NewEmail(email)
	if err != nil {
		panic(err)
	}
	return ImportRow{Number: number, Email: e, FirstName: "Kim", LastName: "Lee"}
}

func terms(importer tenancy.Actor) ImportTerms {
	return ImportTerms{ImportID: imp, Importer: importer, Role: tenancy.RoleUser, DefaultGroupID: importer.GroupID, MustChangePassword: true}
}

// status is how the review names a decision under a policy.
func status(d Decision, p Policy) string {
	switch {
	case d.Outcome == OutcomeNew:
		return "new"
	case d.Outcome == OutcomeRefused:
		return "invalid:" + d.Refusal.Code
	case d.Diff.Under(p).Empty():
		return "unchanged"
	}
	return "changed"
}

func TestDecide(t *testing.T) {
	userG1 := func() *Account { return holder("kim@school.org", tenancy.RoleUser, g1, []uuid.UUID{t1}, true) }
	withPassword := func(r ImportRow) ImportRow { r.HasPassword = true; return r }
	withGroup := func(r ImportRow, g uuid.UUID) ImportRow { r.GroupID = g; return r }
	withTags := func(r ImportRow, tags ...uuid.UUID) ImportRow { r.TagIDs = tags; return r }
	renamed := func(r ImportRow) ImportRow { r.FirstName = "Kimberly"; return r }
	all := Policy{UpdatePassword: true, UpdateGroup: true, UpdateTags: true, UpdateNames: true}
	tests := []struct {
		name   string
		terms  ImportTerms
		row    ImportRow
		holder *Account
		policy Policy
		want   string
		diff   Diff // under the policy, when changed
	}{
		{"no account has the email", terms(sysAdmin), row(1, "new@school.org"), nil, Policy{}, "new", Diff{}},
		{"another organization's email is unavailable, wherever it lives", terms(sysAdmin), row(1, "x@other.org"),
			FromSnapshot(Snapshot{ID: uuid.New(), OrgID: otherOrg, Email: "x@other.org", Role: tenancy.RoleUser, Active: true}), all, "invalid:email_unavailable", Diff{}},
		{"same values, nothing ticked: unchanged", terms(sysAdmin), row(2, "kim@school.org"), userG1(), Policy{}, "unchanged", Diff{}},
		{"same values, everything ticked but no password: unchanged", terms(sysAdmin), withTags(withGroup(row(2, "kim@school.org"), g1), t1), userG1(), all, "unchanged", Diff{}},
		{"case of the email does not matter", terms(sysAdmin), row(2, "KIM@School.org"), userG1(), all, "unchanged", Diff{}},
		{"a password with update_password: changed", terms(sysAdmin), withPassword(row(3, "kim@school.org")), userG1(), Policy{UpdatePassword: true}, "changed", Diff{Password: true}},
		{"a password without update_password: unchanged", terms(sysAdmin), withPassword(row(3, "kim@school.org")), userG1(), Policy{UpdateTags: true}, "unchanged", Diff{}},
		{"the default password counts as a password", func() ImportTerms { t := terms(sysAdmin); t.DefaultPassword = true; return t }(),
			row(3, "kim@school.org"), userG1(), Policy{UpdatePassword: true}, "changed", Diff{Password: true}},
		{"another group with update_group: changed", terms(sysAdmin), withGroup(row(4, "kim@school.org"), g2), userG1(), Policy{UpdateGroup: true}, "changed",
			Diff{Group: &GroupChange{From: g1, To: g2}}},
		{"the default group applies when the row has none", func() ImportTerms { t := terms(sysAdmin); t.DefaultGroupID = g2; return t }(),
			row(4, "kim@school.org"), userG1(), Policy{UpdateGroup: true}, "changed", Diff{Group: &GroupChange{From: g1, To: g2}}},
		{"another group without update_group: unchanged", terms(sysAdmin), withGroup(row(4, "kim@school.org"), g2), userG1(), Policy{UpdateTags: true}, "unchanged", Diff{}},
		{"a new tag with update_tags: only the missing tag is added", terms(sysAdmin), withTags(row(5, "kim@school.org"), t1, t2), userG1(), Policy{UpdateTags: true}, "changed",
			Diff{TagsAdded: []uuid.UUID{t2}}},
		{"default tags count", func() ImportTerms { t := terms(sysAdmin); t.DefaultTagIDs = []uuid.UUID{t2}; return t }(),
			row(5, "kim@school.org"), userG1(), Policy{UpdateTags: true}, "changed", Diff{TagsAdded: []uuid.UUID{t2}}},
		{"a tag the account has: unchanged", terms(sysAdmin), withTags(row(5, "kim@school.org"), t1), userG1(), Policy{UpdateTags: true}, "unchanged", Diff{}},
		{"another first name with update_names", terms(sysAdmin), renamed(row(6, "kim@school.org")), userG1(), Policy{UpdateNames: true}, "changed",
			Diff{FirstName: &TextChange{From: "Kim", To: "Kimberly"}}},
		{"another first name without update_names", terms(sysAdmin), renamed(row(6, "kim@school.org")), userG1(), all.without(func(p *Policy) { p.UpdateNames = false }), "unchanged", Diff{}},
		{"a deactivated account is reactivated under any policy", terms(sysAdmin), row(7, "gone@school.org"),
			holder("gone@school.org", tenancy.RoleUser, g1, nil, false), Policy{}, "changed", Diff{Reactivate: true}},
		{"system admin changes an administrator", terms(sysAdmin), withPassword(row(8, "ada@school.org")),
			holder("ada@school.org", tenancy.RoleAdmin, g2, nil, true), Policy{UpdatePassword: true}, "changed", Diff{Password: true}},
		{"system admin never changes a system administrator", terms(sysAdmin), withPassword(row(9, "root@school.org")),
			holder("root@school.org", tenancy.RoleSystemAdmin, uuid.Nil, nil, true), all, "invalid:not_allowed_to_change", Diff{}},
		{"not even one whose row would change nothing", terms(sysAdmin), row(9, "root@school.org"),
			holder("root@school.org", tenancy.RoleSystemAdmin, uuid.Nil, nil, true), Policy{}, "invalid:not_allowed_to_change", Diff{}},
		{"group admin changes a user of their group", terms(groupAdm), withPassword(row(10, "kim@school.org")), userG1(), Policy{UpdatePassword: true}, "changed", Diff{Password: true}},
		{"group admin cannot change a user of another group", terms(groupAdm), withPassword(row(11, "zed@school.org")),
			holder("zed@school.org", tenancy.RoleUser, g2, nil, true), Policy{UpdatePassword: true}, "invalid:not_allowed_to_change", Diff{}},
		{"group admin cannot change a user of no group", terms(groupAdm), row(11, "zed@school.org"),
			holder("zed@school.org", tenancy.RoleUser, uuid.Nil, nil, true), Policy{}, "invalid:not_allowed_to_change", Diff{}},
		{"group admin cannot change an administrator of their group", terms(groupAdm), withPassword(row(12, "ada@school.org")),
			holder("ada@school.org", tenancy.RoleAdmin, g1, nil, true), Policy{UpdatePassword: true}, "invalid:not_allowed_to_change", Diff{}},
		{"group admin cannot change the system administrator", terms(groupAdm), withTags(withPassword(row(13, "root@school.org")), t2),
			holder("root@school.org", tenancy.RoleSystemAdmin, uuid.Nil, nil, true), Policy{UpdatePassword: true, UpdateTags: true}, "invalid:not_allowed_to_change", Diff{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.terms, tt.row, tt.holder)
			if got := status(d, tt.policy); got != tt.want {
				t.Fatalf("status = %s, want %s (decision %+v)", got, tt.want, d)
			}
			if tt.want == "changed" {
				if got := d.Diff.Under(tt.policy); !reflect.DeepEqual(got, tt.diff) {
					t.Fatalf("diff under %+v = %+v, want %+v", tt.policy, got, tt.diff)
				}
			}
			if d.Outcome == OutcomeRefused && d.Refusal.Message == "" {
				t.Fatal("a refusal needs a sentence that says why")
			}
		})
	}
}

func (p Policy) without(f func(*Policy)) Policy {
	f(&p)
	return p
}

// Every one of the sixteen policies keeps exactly its own fields, and the
// mask of policies under which a diff changes something agrees with Under.
func TestEveryPolicy(t *testing.T) {
	full := Diff{FirstName: &TextChange{"a", "b"}, LastName: &TextChange{"c", "d"}, Group: &GroupChange{g1, g2}, TagsAdded: []uuid.UUID{t1}, Password: true}
	for bits := range Policies {
		p := PolicyFromBits(bits)
		if p.Bits() != bits {
			t.Fatalf("policy %d round-trips to %d", bits, p.Bits())
		}
		got := full.Under(p)
		if (got.FirstName != nil) != p.UpdateNames || (got.LastName != nil) != p.UpdateNames || (got.Group != nil) != p.UpdateGroup ||
			(len(got.TagsAdded) > 0) != p.UpdateTags || got.Password != p.UpdatePassword {
			t.Errorf("policy %+v keeps %+v", p, got)
		}
	}
	tagsOnly := Diff{TagsAdded: []uuid.UUID{t1}}
	mask := tagsOnly.ChangedUnder()
	for bits := range Policies {
		if want := PolicyFromBits(bits).UpdateTags; (mask&(1<<bits) != 0) != want {
			t.Errorf("tags-only diff under policy %d: changed=%v, want %v", bits, mask&(1<<bits) != 0, want)
		}
	}
	if (Diff{Reactivate: true}).ChangedUnder() != 1<<Policies-1 {
		t.Error("a reactivation changes the account under every policy")
	}
	if (Diff{}).ChangedUnder() != 0 {
		t.Error("an empty diff changes nothing under any policy")
	}
}

func newIDs() func() uuid.UUID {
	n := 0
	return func() uuid.UUID {
		n++
		return uuid.NewSHA1(imp, []byte{byte(n)})
	}
}

// Given the accounts that hold the emails now, when a batch is planned,
// then these events (per account) and these failures.
func TestPlanBatch(t *testing.T) {
	kim := func() *Account { return holder("kim@school.org", tenancy.RoleUser, g1, []uuid.UUID{t1}, true) }
	reviewedNew := func(r ImportRow) PlanRow { return PlanRow{ImportRow: r, Reviewed: Reviewed{New: true}} }
	reviewed := func(r ImportRow, d Diff) PlanRow { return PlanRow{ImportRow: r, Reviewed: Reviewed{Diff: d}} }
	passwordRow := func(n int, email string) ImportRow { r := row(n, email); r.HasPassword = true; return r }
	sysTerms := terms(sysAdmin)
	sysTerms.DefaultPassword = true
	sysTerms.DefaultTagIDs = []uuid.UUID{t2}
	welcome := sysTerms
	welcome.WelcomeEmail = true
	generating := terms(sysAdmin)
	generating.GeneratePasswords, generating.MustChangePassword = true, false
	tests := []struct {
		name      string
		terms     ImportTerms
		policy    Policy
		rows      []PlanRow
		holders   []*Account
		events    map[string][]string // email → event types recorded
		unchanged []int
		failed    []Failure
	}{
		{"a new row creates an account with the defaults", sysTerms, Policy{}, []PlanRow{reviewedNew(row(1, "new@school.org"))}, nil,
			map[string][]string{"new@school.org": {"AccountCreated"}}, nil, nil},
		{"a welcome email is queued with the account", welcome, Policy{}, []PlanRow{reviewedNew(row(1, "new@school.org"))}, nil,
			map[string][]string{"new@school.org": {"AccountCreated", "WelcomeEmailQueued"}}, nil, nil},
		{"a new row whose email was taken meanwhile in the organization fails", sysTerms, Policy{}, []PlanRow{reviewedNew(row(1, "kim@school.org"))},
			[]*Account{kim()}, nil, nil, []Failure{{1, "kim@school.org", "email_taken"}}},
		{"a new row whose email went to another organization meanwhile fails without saying where", sysTerms, Policy{}, []PlanRow{reviewedNew(row(1, "x@other.org"))},
			[]*Account{FromSnapshot(Snapshot{ID: uuid.New(), OrgID: otherOrg, Email: "x@other.org", Role: tenancy.RoleUser, Active: true})},
			nil, nil, []Failure{{1, "x@other.org", "email_unavailable"}}},
		{"a new row without any password fails", terms(sysAdmin), Policy{}, []PlanRow{reviewedNew(row(1, "new@school.org"))}, nil,
			nil, nil, []Failure{{1, "new@school.org", "password_missing"}}},
		{"the same email twice in a batch: the second fails", sysTerms, Policy{}, []PlanRow{reviewedNew(row(1, "new@school.org")), reviewedNew(row(2, "NEW@school.org"))}, nil,
			map[string][]string{"new@school.org": {"AccountCreated"}}, nil, []Failure{{2, "NEW@school.org", "email_duplicate_in_file"}}},
		{"an unchanged row writes nothing", sysTerms, Policy{UpdateTags: true},
			[]PlanRow{reviewed(row(2, "kim@school.org"), Diff{})}, []*Account{holder("kim@school.org", tenancy.RoleUser, g1, []uuid.UUID{t1, t2}, true)},
			nil, []int{2}, nil},
		{"a changed row records exactly its changes", sysTerms, Policy{UpdateTags: true, UpdatePassword: true},
			[]PlanRow{reviewed(passwordRow(2, "kim@school.org"), Diff{TagsAdded: []uuid.UUID{t2}, Password: true})}, []*Account{kim()},
			map[string][]string{"kim@school.org": {"AccountUpdated"}}, nil, nil},
		{"a change the review did not show is not made", sysTerms, Policy{UpdateTags: true, UpdateGroup: true},
			[]PlanRow{reviewed(row(2, "kim@school.org"), Diff{})}, []*Account{kim()}, nil, []int{2}, nil},
		{"an account that left the importer's reach since the review fails", terms(groupAdm), Policy{UpdatePassword: true},
			[]PlanRow{reviewed(passwordRow(3, "kim@school.org"), Diff{Password: true})},
			[]*Account{holder("kim@school.org", tenancy.RoleUser, g2, nil, true)}, nil, nil, []Failure{{3, "kim@school.org", "not_allowed_to_change"}}},
		{"an existing account that is gone fails", sysTerms, Policy{UpdatePassword: true},
			[]PlanRow{reviewed(passwordRow(3, "kim@school.org"), Diff{Password: true})}, nil, nil, nil, []Failure{{3, "kim@school.org", "account_gone"}}},
		{"generated passwords: a new row without a password creates an account", generating, Policy{}, []PlanRow{reviewedNew(row(1, "new@school.org"))}, nil,
			map[string][]string{"new@school.org": {"AccountCreated"}}, nil, nil},
		{"generated passwords never replace an existing account's password", generating, Policy{UpdatePassword: true},
			[]PlanRow{reviewed(row(2, "kim@school.org"), Diff{})}, []*Account{kim()}, nil, []int{2}, nil},
		{"a deactivated account is reactivated", sysTerms, Policy{},
			[]PlanRow{reviewed(row(4, "gone@school.org"), Diff{Reactivate: true})}, []*Account{holder("gone@school.org", tenancy.RoleUser, g1, nil, false)},
			map[string][]string{"gone@school.org": {"AccountUpdated"}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			holders := map[string]*Account{}
			for _, h := range tt.holders {
				holders[h.Email().Key()] = h
			}
			plan := PlanBatch(tt.terms, tt.policy, tt.rows, holders, newIDs(), when)
			got := map[string][]string{}
			for _, c := range plan.Created {
				got[c.Account.Email().Key()] = eventTypes(c.Account)
			}
			for _, c := range plan.Changed {
				got[c.Account.Email().Key()] = eventTypes(c.Account)
			}
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tt.events) {
				t.Errorf("events = %v, want %v", got, tt.events)
			}
			if !reflect.DeepEqual(plan.Unchanged, tt.unchanged) {
				t.Errorf("unchanged = %v, want %v", plan.Unchanged, tt.unchanged)
			}
			if !reflect.DeepEqual(plan.Failed, tt.failed) {
				t.Errorf("failed = %v, want %v", plan.Failed, tt.failed)
			}
		})
	}
}

func eventTypes(a *Account) []string {
	var out []string
	for _, e := range a.PendingEvents() {
		out = append(out, e.(interface{ EventType() string }).EventType())
	}
	return out
}

// The events say exactly what changed, with the old values, and the
// snapshot after them is what the account became.
func TestPlanBatchEventsAndSnapshot(t *testing.T) {
	tm := terms(sysAdmin)
	tm.DefaultTagIDs = []uuid.UUID{t2}
	tm.PresetID = uuid.MustParse("00000000-0000-0000-0000-0000000000f1")
	r := row(7, "kim@school.org")
	r.HasPassword, r.GroupID, r.FirstName = true, g2, "Kimberly"
	kim := holder("kim@school.org", tenancy.RoleUser, g1, []uuid.UUID{t1}, true)
	policy := Policy{UpdatePassword: true, UpdateGroup: true, UpdateTags: true, UpdateNames: true}
	review := Decide(tm, r, holder("kim@school.org", tenancy.RoleUser, g1, []uuid.UUID{t1}, true)).Diff
	plan := PlanBatch(tm, policy, []PlanRow{{ImportRow: r, Reviewed: Reviewed{Diff: review}},
		{ImportRow: row(8, "new@school.org"), Reviewed: Reviewed{New: true}}}, map[string]*Account{"kim@school.org": kim}, newIDs(), when)
	if len(plan.Changed) != 1 || len(plan.Created) != 0 || len(plan.Failed) != 1 {
		t.Fatalf("plan: %+v", plan)
	}
	want := AccountUpdated{AccountID: kim.ID(), ImportID: imp, ImportRow: 7, FirstName: &TextChange{"Kim", "Kimberly"},
		Group: &GroupChange{g1, g2}, TagsAdded: []uuid.UUID{t2}, PasswordReplaced: true, MustChangePassword: true, UpdatedAt: when}
	if got := kim.PendingEvents(); !reflect.DeepEqual(got, []any{want}) {
		t.Fatalf("events = %+v\nwant %+v", got, want)
	}
	s := kim.Snapshot()
	if s.FirstName != "Kimberly" || s.GroupID != g2 || !reflect.DeepEqual(s.TagIDs, []uuid.UUID{t1, t2}) || !s.MustChangePassword || s.Version != 4 {
		t.Fatalf("snapshot after the change: %+v", s)
	}
	if !plan.Changed[0].PasswordReplaced || !plan.Changed[0].OwnPassword {
		t.Fatalf("the row's own password replaces the account's: %+v", plan.Changed[0])
	}

	tm.DefaultPassword = true
	plan = PlanBatch(tm, policy, []PlanRow{{ImportRow: row(8, "new@school.org"), Reviewed: Reviewed{New: true}}}, nil, newIDs(), when)
	created := plan.Created[0].Account.Snapshot()
	if created.Role != tenancy.RoleUser || created.GroupID != uuid.Nil || !reflect.DeepEqual(created.TagIDs, []uuid.UUID{t2}) ||
		created.PresetID != tm.PresetID || created.ImportID != imp || !created.Active || !created.MustChangePassword || created.Version != 1 {
		t.Fatalf("created: %+v", created)
	}
	if plan.Created[0].OwnPassword {
		t.Fatal("a row without a password takes the default")
	}
}

func TestRehydrateMatchesSnapshot(t *testing.T) {
	tm := terms(sysAdmin)
	tm.DefaultPassword = true
	plan := PlanBatch(tm, Policy{}, []PlanRow{{ImportRow: row(1, "new@school.org"), Reviewed: Reviewed{New: true}}}, nil, newIDs(), when)
	acc := plan.Created[0].Account
	acc.ApplyImport(tm, 2, Diff{Group: &GroupChange{uuid.Nil, g1}, TagsAdded: []uuid.UUID{t1}}, when)
	replayed := Rehydrate(acc.PendingEvents())
	if got, want := replayed.Snapshot(), acc.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("replayed %+v\nsnapshot %+v", got, want)
	}
}

// A generated password is the account's alone and must be changed at first
// sign-in, whatever the import said about changing passwords.
func TestPlanBatchGeneratedPasswords(t *testing.T) {
	for _, tt := range []struct {
		name          string
		generate      bool
		ownPassword   bool
		wantGenerated bool
	}{
		{"generated when the import generates and the row has none", true, false, true},
		{"the row's own password is never replaced by a generated one", true, true, false},
		{"nothing generated otherwise", false, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm := terms(sysAdmin)
			tm.GeneratePasswords, tm.MustChangePassword = tt.generate, false
			r := row(1, "new@school.org")
			r.HasPassword = tt.ownPassword
			plan := PlanBatch(tm, Policy{}, []PlanRow{{ImportRow: r, Reviewed: Reviewed{New: true}}}, nil, newIDs(), when)
			if len(plan.Created) != 1 {
				t.Fatalf("created %d accounts, failed %v", len(plan.Created), plan.Failed)
			}
			c := plan.Created[0]
			if c.GeneratedPassword != tt.wantGenerated || c.OwnPassword != tt.ownPassword {
				t.Errorf("generated %v own %v, want %v %v", c.GeneratedPassword, c.OwnPassword, tt.wantGenerated, tt.ownPassword)
			}
			if c.Account.MustChangePassword() != tt.wantGenerated {
				t.Errorf("must change = %v, want %v", c.Account.MustChangePassword(), tt.wantGenerated)
			}
		})
	}
}
