package account

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/tenancy"
)

// What an import does to accounts is decided here, once: the validation
// (the review's dry run) and the commit ask the same questions of the same
// functions, so the review shows what the commit will do.

// Policy says what an import may change on accounts that already exist.
// Reactivating a deactivated account needs no permission: importing a
// person again means they are back.
type Policy struct {
	UpdatePassword bool
	UpdateGroup    bool
	UpdateTags     bool
	UpdateNames    bool
}

// Policies is the number of distinct policies (four switches).
const Policies = 16

// Bits numbers the policy from 0 to Policies-1.
func (p Policy) Bits() int {
	b := 0
	for i, on := range []bool{p.UpdatePassword, p.UpdateGroup, p.UpdateTags, p.UpdateNames} {
		if on {
			b |= 1 << i
		}
	}
	return b
}

// PolicyFromBits is the policy numbered b.
func PolicyFromBits(b int) Policy {
	return Policy{UpdatePassword: b&1 != 0, UpdateGroup: b&2 != 0, UpdateTags: b&4 != 0, UpdateNames: b&8 != 0}
}

// ImportTerms are an import's settings as they bear on each account: who
// imports, and the defaults for what a row leaves out.
type ImportTerms struct {
	ImportID uuid.UUID
	// Importer is who uploaded the file; their reach bounds what the import
	// may change.
	Importer        tenancy.Actor
	Role            tenancy.Role // of the accounts the import creates
	DefaultGroupID  uuid.UUID
	DefaultTagIDs   []uuid.UUID
	DefaultPassword bool
	// GeneratePasswords: each account the import creates gets a password
	// generated for it alone (for its login card). Existing accounts keep
	// theirs: a card goes to a new account only.
	GeneratePasswords  bool
	MustChangePassword bool
	PresetID           uuid.UUID
	// WelcomeEmail: the import sends a welcome email to every account it
	// creates (the importer asked and the organization allows it).
	WelcomeEmail bool
}

// ProvidesPassword reports whether the import gives a password to a new
// account whose row has none: the default, or one generated for it.
func (t ImportTerms) ProvidesPassword() bool { return t.DefaultPassword || t.GeneratePasswords }

// ImportRow is a validated row, its names split and its group and tags
// resolved to ids.
type ImportRow struct {
	Number      int
	Email       Email
	FirstName   string
	LastName    string
	GroupID     uuid.UUID // the row's own group; uuid.Nil: none (the default applies)
	TagIDs      []uuid.UUID
	HasPassword bool // the row brings its own password
}

// Diff is everything a row would change on an existing account, whatever
// the policy: Under narrows it to what a policy allows.
type Diff struct {
	FirstName *TextChange
	LastName  *TextChange
	Group     *GroupChange
	TagsAdded []uuid.UUID
	// Password: the row comes with a password (its own or the default) that
	// would replace the account's.
	Password   bool
	Reactivate bool
}

// Under keeps what the policy allows.
func (d Diff) Under(p Policy) Diff {
	out := Diff{Reactivate: d.Reactivate}
	if p.UpdateNames {
		out.FirstName, out.LastName = d.FirstName, d.LastName
	}
	if p.UpdateGroup {
		out.Group = d.Group
	}
	if p.UpdateTags {
		out.TagsAdded = d.TagsAdded
	}
	if p.UpdatePassword {
		out.Password = d.Password
	}
	return out
}

// Within keeps only the changes that other also holds (with d's values): a
// commit applies what the review showed and still holds, never more.
func (d Diff) Within(other Diff) Diff {
	out := Diff{Password: d.Password && other.Password, Reactivate: d.Reactivate && other.Reactivate}
	if other.FirstName != nil {
		out.FirstName = d.FirstName
	}
	if other.LastName != nil {
		out.LastName = d.LastName
	}
	if other.Group != nil && d.Group != nil && d.Group.To == other.Group.To {
		out.Group = d.Group
	}
	for _, id := range d.TagsAdded {
		if slices.Contains(other.TagsAdded, id) {
			out.TagsAdded = append(out.TagsAdded, id)
		}
	}
	return out
}

// Empty reports whether nothing would change.
func (d Diff) Empty() bool {
	return d.FirstName == nil && d.LastName == nil && d.Group == nil && len(d.TagsAdded) == 0 && !d.Password && !d.Reactivate
}

// ChangedUnder has bit p set when the diff changes something under the
// policy numbered p, so the review can count and list changed rows for
// any policy without deciding again.
func (d Diff) ChangedUnder() uint16 {
	var mask uint16
	for p := range Policies {
		if !d.Under(PolicyFromBits(p)).Empty() {
			mask |= 1 << p
		}
	}
	return mask
}

// Outcome is what a row means for the accounts.
type Outcome int

const (
	// OutcomeNew: no account has the email; the row creates one.
	OutcomeNew Outcome = iota
	// OutcomeExisting: an account of the organization, within the
	// importer's reach, has the email; Diff says what could change.
	OutcomeExisting
	// OutcomeRefused: the row may not be applied (Refusal says why).
	OutcomeRefused
)

// Refusal is why a row may not be applied, in the importer's words.
type Refusal struct {
	Code    string // email_unavailable, not_allowed_to_change
	Message string
}

// Decision is the verdict on one row.
type Decision struct {
	Outcome Outcome
	Diff    Diff
	Refusal Refusal
}

// Decide says what a row does, given the account that holds its email now
// (nil: none, anywhere). An email held in another organization is refused
// without saying where it lives; an account outside the importer's reach
// (tenancy.Actor.CanChange) is refused, whatever the policy, so the review
// shows it before anything is committed.
func Decide(t ImportTerms, row ImportRow, holder *Account) Decision {
	if holder == nil {
		return Decision{Outcome: OutcomeNew}
	}
	if holder.orgID != t.Importer.OrgID {
		taken := (&EmailUnavailableError{Email: row.Email}).Failure()
		return Decision{Outcome: OutcomeRefused, Refusal: Refusal{Code: taken.Code, Message: taken.Message}}
	}
	if !t.Importer.CanChange(holder.Target()) {
		return Decision{Outcome: OutcomeRefused, Refusal: notAllowed(t.Importer, holder, row.Email)}
	}
	return Decision{Outcome: OutcomeExisting, Diff: holder.diff(t, row)}
}

func notAllowed(importer tenancy.Actor, holder *Account, email Email) Refusal {
	msg := fmt.Sprintf("The email %s belongs to an existing account that your imports may not change: a group administrator's imports change only users of their own group. Remove the row, or ask a system administrator.", email)
	if importer.Role.IsSystemAdmin() {
		msg = fmt.Sprintf("The email %s belongs to a system administrator. An import never changes a system administrator's account; remove the row.", email)
	}
	return Refusal{Code: "not_allowed_to_change", Message: msg}
}

// diff is what the row would change on the account, before any policy.
func (a *Account) diff(t ImportTerms, row ImportRow) Diff {
	var d Diff
	if row.FirstName != "" && row.FirstName != a.firstName {
		d.FirstName = &TextChange{From: a.firstName, To: row.FirstName}
	}
	if row.LastName != "" && row.LastName != a.lastName {
		d.LastName = &TextChange{From: a.lastName, To: row.LastName}
	}
	if group := groupOf(t, row); group != uuid.Nil && group != a.groupID {
		d.Group = &GroupChange{From: a.groupID, To: group}
	}
	for _, id := range union(row.TagIDs, t.DefaultTagIDs) {
		if !slices.Contains(a.tagIDs, id) {
			d.TagsAdded = append(d.TagsAdded, id)
		}
	}
	d.Password = row.HasPassword || t.DefaultPassword
	d.Reactivate = !a.active
	return d
}

// groupOf is the group a row puts its account in: its own, else the
// import's default.
func groupOf(t ImportTerms, row ImportRow) uuid.UUID {
	if row.GroupID != uuid.Nil {
		return row.GroupID
	}
	return t.DefaultGroupID
}

// ApplyImport records exactly the changes of d, which were computed against
// this account's current state and narrowed to what is allowed; it records
// nothing when d is empty and reports whether it recorded.
func (a *Account) ApplyImport(t ImportTerms, row int, d Diff, now time.Time) bool {
	if d.Empty() {
		return false
	}
	a.record(AccountUpdated{
		AccountID: a.id, ImportID: t.ImportID, ImportRow: row, FirstName: d.FirstName, LastName: d.LastName,
		Group: d.Group, TagsAdded: d.TagsAdded, PasswordReplaced: d.Password,
		MustChangePassword: d.Password && t.MustChangePassword, Reactivated: d.Reactivate, UpdatedAt: now.UTC(),
	})
	return true
}

// Reviewed is what the review showed for a row: a new account, or the
// diff of an existing one.
type Reviewed struct {
	New  bool
	Diff Diff
}

// PlanRow is a row to commit with what its review showed.
type PlanRow struct {
	ImportRow
	Reviewed Reviewed
}

// Created is an account the batch creates.
type Created struct {
	Account     *Account
	Row         int
	OwnPassword bool // hash the row's own password, not the default
	// GeneratedPassword: generate a password for this account alone, to be
	// printed on its login card; it must be changed at first sign-in.
	GeneratedPassword bool
}

// Changed is an existing account the batch changes.
type Changed struct {
	Account          *Account
	Row              int
	PasswordReplaced bool
	OwnPassword      bool
}

// Failure is a row the commit could not apply, with a stable code.
type Failure struct {
	Row   int
	Email string
	Code  string
}

// Plan is what one batch of a commit does.
type Plan struct {
	Created   []Created
	Changed   []Changed
	Unchanged []int
	Failed    []Failure
}

// PlanBatch decides a batch of the commit against the accounts that hold
// the rows' emails now (by Email.Key), which may differ from what the
// review saw: a new row whose email was taken meanwhile fails, an existing
// account that left the importer's reach fails, and an existing account
// gets the changes the review showed that still make a difference, no
// more. Everything recorded is in the returned aggregates' pending events.
func PlanBatch(t ImportTerms, p Policy, rows []PlanRow, holders map[string]*Account, newID func() uuid.UUID, now time.Time) Plan {
	var plan Plan
	seen := make(map[string]bool, len(rows))
	fail := func(row PlanRow, code string) {
		plan.Failed = append(plan.Failed, Failure{Row: row.Number, Email: row.Email.String(), Code: code})
	}
	for _, row := range rows {
		key := row.Email.Key()
		if seen[key] {
			fail(row, "email_duplicate_in_file")
			continue
		}
		seen[key] = true
		holder := holders[key]
		if row.Reviewed.New {
			switch {
			case holder != nil && holder.orgID == t.Importer.OrgID:
				fail(row, "email_taken")
				continue
			case holder != nil:
				fail(row, "email_unavailable")
				continue
			case !row.HasPassword && !t.ProvidesPassword():
				fail(row, "password_missing")
				continue
			}
			generated := !row.HasPassword && t.GeneratePasswords
			acc, err := Create(New{
				ID: newID(), OrgID: t.Importer.OrgID, Email: row.Email, FirstName: row.FirstName, LastName: row.LastName,
				Role: t.Role, GroupID: groupOf(t, row.ImportRow), TagIDs: union(row.TagIDs, t.DefaultTagIDs), PresetID: t.PresetID,
				ImportID: t.ImportID, ImportRow: row.Number, MustChangePassword: t.MustChangePassword || generated,
			}, now)
			if err != nil {
				fail(row, "invalid")
				continue
			}
			if t.WelcomeEmail {
				acc.QueueWelcomeEmail(t.ImportID)
			}
			plan.Created = append(plan.Created, Created{Account: acc, Row: row.Number, OwnPassword: row.HasPassword, GeneratedPassword: generated})
			continue
		}
		if holder == nil {
			fail(row, "account_gone")
			continue
		}
		decision := Decide(t, row.ImportRow, holder)
		if decision.Outcome == OutcomeRefused {
			fail(row, decision.Refusal.Code)
			continue
		}
		change := decision.Diff.Under(p).Within(row.Reviewed.Diff.Under(p))
		if !holder.ApplyImport(t, row.Number, change, now) {
			plan.Unchanged = append(plan.Unchanged, row.Number)
			continue
		}
		plan.Changed = append(plan.Changed, Changed{Account: holder, Row: row.Number, PasswordReplaced: change.Password, OwnPassword: change.Password && row.HasPassword})
	}
	return plan
}
