// Package query holds the application's read side: DTOs shaped for the
// reader, and query handlers over small read-model interfaces declared here
// and implemented in infrastructure.
package query

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/importsession"
)

// Import is an import as the API and the pages show it.
type Import struct {
	ID               uuid.UUID           `json:"id"`
	Source           string              `json:"source"`
	State            importsession.State `json:"state"`
	Step             importsession.Step  `json:"step"`
	AccountType      string              `json:"account_type"`
	SendWelcomeEmail bool                `json:"send_welcome_email"`
	PresetID         *uuid.UUID          `json:"preset_id"`
	File             File                `json:"file"`
	Classroom        *Classroom          `json:"classroom,omitempty"`
	SuggestedMapping map[string]string   `json:"suggested_mapping"`
	Mapping          map[string]string   `json:"mapping"`
	Defaults         *Defaults           `json:"defaults"`
	ExistingPolicy   ExistingPolicy      `json:"existing_policy"`
	Counts           Counts              `json:"counts"`
	Verification     Verification        `json:"verification"`
	Progress         Progress            `json:"progress"`
	Summary          *Summary            `json:"summary,omitempty"`
	Undo             *Undo               `json:"undo,omitempty"`
	// LoginCards, for an import that generated passwords once committed:
	// until when its cards can be downloaded, and how often they were.
	LoginCards *LoginCards `json:"login_cards,omitempty"`
	// SameFileAs are earlier imports of the very same file (by SHA-256),
	// said before anything else so nobody imports a file twice unawares.
	SameFileAs []SameFile `json:"same_file_as"`
	// Departed are, for a Google Classroom re-sync, the students imported
	// from its classes before who are no longer in them (DepartedTotal
	// counts them all when the list is cut short).
	Departed      []Departed `json:"departed"`
	DepartedTotal int        `json:"departed_total"`
	// FollowUpOf is the import whose rejected rows this one fixes.
	FollowUpOf *uuid.UUID `json:"follow_up_of,omitempty"`
	// Warnings are the traps of the choices so far (the domain's
	// importsession.Trap), said before the rows are checked.
	Warnings       []Warning `json:"warnings"`
	CreatedBy      uuid.UUID `json:"created_by"`
	CreatedByEmail string    `json:"created_by_email"`
	// Version counts the import's recorded events: a reader that polls can
	// tell an answer older than what it has already shown.
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Departed is a student who left a re-synced class.
type Departed struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Warning is a trap of the import's choices so far: a code and a sentence.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// File describes the uploaded file.
type File struct {
	Name       string   `json:"name"`
	Size       int64    `json:"size"`
	SHA256     string   `json:"sha256,omitempty"`
	Rows       int      `json:"rows"`
	Headers    []string `json:"headers"`
	Encoding   string   `json:"encoding"`
	Delimiter  string   `json:"delimiter"`
	HeaderLine int      `json:"header_line,omitempty"`
}

// Classroom describes where a Google Classroom import came from.
type Classroom struct {
	GoogleEmail     string     `json:"google_email"`
	GroupID         *uuid.UUID `json:"group_id,omitempty"`
	Courses         []Course   `json:"courses"`
	IncludeTeachers bool       `json:"include_teachers"`
}

// Course is one Google Classroom class.
type Course struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Section  string `json:"section"`
	Students int    `json:"students"`
}

// Defaults are the chosen defaults (never the password itself).
type Defaults struct {
	ForcePasswordChange bool        `json:"force_password_change"`
	PasswordSet         bool        `json:"password_set"`
	GeneratePasswords   bool        `json:"generate_passwords"`
	GroupID             *uuid.UUID  `json:"group_id"`
	TagIDs              []uuid.UUID `json:"tag_ids"`
	DeactivateDeparted  bool        `json:"deactivate_departed"`
}

// ExistingPolicy is what changes on existing accounts.
type ExistingPolicy struct {
	UpdatePassword bool `json:"update_password"`
	UpdateGroup    bool `json:"update_group"`
	UpdateTags     bool `json:"update_tags"`
	UpdateNames    bool `json:"update_names"`
}

// Counts are the validation's outcome under the chosen policy: existing
// rows are changed or unchanged.
type Counts struct {
	Total     int `json:"total"`
	New       int `json:"new"`
	Existing  int `json:"existing"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	Invalid   int `json:"invalid"`
	Blank     int `json:"blank"`
}

// Verification is how far the review of the validated rows went.
type Verification struct {
	Pages         int   `json:"pages"`
	ReviewedPages []int `json:"reviewed_pages"`
	Skipped       bool  `json:"skipped"`
}

// Done reports whether the import may be committed as far as the review goes.
func (v Verification) Done() bool { return v.Skipped || len(v.ReviewedPages) >= v.Pages }

// Reviewed reports whether the page was marked as looked at.
func (v Verification) Reviewed(page int) bool { return slices.Contains(v.ReviewedPages, page) }

// Progress is the commit's progress.
type Progress struct {
	Done      int `json:"done"`
	Total     int `json:"total"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
}

// Summary is the outcome of a completed import. Created, updated (changed),
// unchanged, skipped (invalid: duplicates in the file among them), failed
// and blank add up to Total, the rows of the file.
type Summary struct {
	CompletedAt time.Time `json:"completed_at"`
	Total       int       `json:"total"`
	Created     int       `json:"created"`
	Updated     int       `json:"updated"`
	Unchanged   int       `json:"unchanged"`
	Skipped     int       `json:"skipped"`
	Failed      int       `json:"failed"`
	// Deactivated counts the accounts of students who left a re-synced
	// class, deactivated as the importer chose; they are not rows.
	Deactivated int `json:"deactivated"`
	// Blank rows of the file (every mapped cell empty) are not listed: with
	// them the figures add up to the file's rows.
	Blank      int         `json:"blank"`
	FailedRows []FailedRow `json:"failed_rows"`
	// WelcomeEmails is set when the import sent welcome emails.
	WelcomeEmails *WelcomeEmails `json:"welcome_emails,omitempty"`
}

// SameFile is an earlier import of the same file.
type SameFile struct {
	ID        uuid.UUID           `json:"id"`
	CreatedAt time.Time           `json:"created_at"`
	State     importsession.State `json:"state"`
	Rows      int                 `json:"rows"`
	Created   int                 `json:"created"`
}

// LoginCards says until when the login cards are kept (never what is on
// them); only the importer may download them.
type LoginCards struct {
	ExpiresAt time.Time `json:"expires_at"`
	Downloads int       `json:"downloads"`
}

// Undo is the undo of a completed import: who, when, and what it did.
// Kept counts accounts whose fields changed again since the import, which
// the undo left as they are (KeptAccounts says which fields).
type Undo struct {
	By           string        `json:"by"`
	StartedAt    time.Time     `json:"started_at"`
	Done         int           `json:"done"`
	Total        int           `json:"total"`
	Deactivated  int           `json:"deactivated"`
	Restored     int           `json:"restored"`
	Kept         int           `json:"kept"`
	KeptAccounts []KeptAccount `json:"kept_accounts"`
	// Reactivated counts the departed students' accounts a re-sync had
	// deactivated, active again.
	Reactivated int `json:"reactivated"`
}

// KeptAccount is an account whose fields the undo kept.
type KeptAccount struct {
	Email  string   `json:"email"`
	Fields []string `json:"fields"`
}

// FailedRow is a row the commit could not apply.
type FailedRow struct {
	Row   int    `json:"row"`
	Email string `json:"email"`
	Code  string `json:"code"`
}

// ImportFrom shapes an aggregate for the reader; the imports read model
// stores exactly this.
func ImportFrom(imp *importsession.Import) Import {
	f := imp.File()
	out := Import{
		ID: imp.ID(), Source: imp.Source(), State: imp.State(), Step: imp.State().Step(),
		AccountType: imp.AccountType(), SendWelcomeEmail: imp.SendWelcomeEmail(), PresetID: optional(imp.PresetID()),
		File: File{Name: f.FileName, Size: f.FileSize, SHA256: f.FileSHA256, Rows: f.Rows, Headers: orEmpty(f.Headers),
			Encoding: f.Encoding, Delimiter: f.Delimiter, HeaderLine: f.HeaderLine},
		SuggestedMapping: f.SuggestedMapping, Mapping: imp.Mapping(),
		CreatedBy: imp.CreatedBy(), CreatedByEmail: imp.CreatedByEmail(), CreatedAt: imp.CreatedAt(), UpdatedAt: imp.UpdatedAt(),
		Version: imp.Snapshot().Version,
	}
	if out.SuggestedMapping == nil {
		out.SuggestedMapping = map[string]string{}
	}
	if out.Mapping == nil {
		out.Mapping = map[string]string{}
	}
	out.SameFileAs, out.FollowUpOf = []SameFile{}, optional(imp.FollowUpOf())
	out.Departed, out.DepartedTotal = []Departed{}, imp.Departed().Total
	for _, d := range imp.Departed().Departed {
		out.Departed = append(out.Departed, Departed(d))
	}
	out.Warnings = []Warning{}
	for _, trap := range imp.Traps() {
		out.Warnings = append(out.Warnings, Warning{Code: trap.Code, Message: trap.Message})
	}
	if imp.Source() == importsession.SourceClassroom {
		c := imp.Classroom()
		out.File = File{Name: imp.Name(), Rows: c.People, Headers: []string{}}
		out.Classroom = &Classroom{GoogleEmail: c.GoogleEmail, GroupID: optional(c.GroupID), IncludeTeachers: c.IncludeTeachers, Courses: []Course{}}
		for _, course := range c.Courses {
			out.Classroom.Courses = append(out.Classroom.Courses, Course{ID: course.ID, Name: course.Name, Section: course.Section, Students: course.Students})
		}
	}
	if imp.DefaultsChosen() {
		d := imp.Defaults()
		tags := d.TagIDs
		if tags == nil {
			tags = []uuid.UUID{}
		}
		out.Defaults = &Defaults{ForcePasswordChange: d.ForcePasswordChange, PasswordSet: d.PasswordSet, GeneratePasswords: d.GeneratePasswords,
			GroupID: optional(d.GroupID), TagIDs: tags, DeactivateDeparted: d.DeactivateDeparted}
	}
	ep := imp.ExistingPolicy()
	out.ExistingPolicy = ExistingPolicy{UpdatePassword: ep.UpdatePassword, UpdateGroup: ep.UpdateGroup, UpdateTags: ep.UpdateTags, UpdateNames: ep.UpdateNames}
	c := imp.Counts()
	out.Counts = Counts{Total: c.Total, New: c.New, Existing: c.Existing, Changed: c.Changed, Unchanged: c.Unchanged, Invalid: c.Invalid, Blank: c.Blank}
	out.Verification = Verification{Pages: imp.Pages(), ReviewedPages: imp.ReviewedPages(), Skipped: imp.VerificationSkipped()}
	p := imp.Progress()
	out.Progress = Progress{Done: p.Done, Total: p.Total, Created: p.Created, Updated: p.Updated, Unchanged: p.Unchanged, Failed: p.Failed}
	if imp.GeneratesPasswords() && !imp.Committed().CommittedAt.IsZero() {
		out.LoginCards = &LoginCards{ExpiresAt: imp.LoginCardsExpireAt(), Downloads: imp.LoginCardsDownloads()}
	}
	if st := imp.State(); st == importsession.StateUndoing || st == importsession.StateUndone {
		by, u, done := imp.UndoStarted(), imp.UndoProgress(), imp.Undone()
		out.Undo = &Undo{By: by.ByEmail, StartedAt: by.StartedAt, Done: u.Done, Total: u.Total, Deactivated: u.Deactivated,
			Restored: u.Restored, Kept: u.Kept, KeptAccounts: []KeptAccount{}, Reactivated: done.Reactivated}
		for _, k := range done.KeptAccounts {
			out.Undo.KeptAccounts = append(out.Undo.KeptAccounts, KeptAccount(k))
		}
	}
	if st := imp.State(); st == importsession.StateCompleted || st == importsession.StateUndoing || st == importsession.StateUndone {
		s := imp.Completed()
		out.Summary = &Summary{Total: imp.File().Rows, Blank: c.Blank, CompletedAt: s.CompletedAt, Created: s.Created, Updated: s.Updated, Unchanged: s.Unchanged, Skipped: s.Skipped, Failed: s.Failed,
			Deactivated: s.Deactivated, FailedRows: []FailedRow{}}
		for _, fr := range s.FailedRows {
			out.Summary.FailedRows = append(out.Summary.FailedRows, FailedRow(fr))
		}
	}
	return out
}

func optional(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
