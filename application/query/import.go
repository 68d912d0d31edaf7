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
	ID               uuid.UUID         `json:"id"`
	Source           string            `json:"source"`
	State            string            `json:"state"`
	Step             string            `json:"step"`
	AccountType      string            `json:"account_type"`
	SendWelcomeEmail bool              `json:"send_welcome_email"`
	PresetID         *uuid.UUID        `json:"preset_id"`
	File             File              `json:"file"`
	Classroom        *Classroom        `json:"classroom,omitempty"`
	SuggestedMapping map[string]string `json:"suggested_mapping"`
	Mapping          map[string]string `json:"mapping"`
	Defaults         *Defaults         `json:"defaults"`
	ExistingPolicy   ExistingPolicy    `json:"existing_policy"`
	Counts           Counts            `json:"counts"`
	Verification     Verification      `json:"verification"`
	Progress         Progress          `json:"progress"`
	Summary          *Summary          `json:"summary,omitempty"`
	CreatedBy        uuid.UUID         `json:"created_by"`
	CreatedByEmail   string            `json:"created_by_email"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
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
	GroupID             *uuid.UUID  `json:"group_id"`
	TagIDs              []uuid.UUID `json:"tag_ids"`
}

// ExistingPolicy is what changes on existing accounts.
type ExistingPolicy struct {
	UpdatePassword bool `json:"update_password"`
	UpdateGroup    bool `json:"update_group"`
	UpdateTags     bool `json:"update_tags"`
}

// Counts are the validation's outcome.
type Counts struct {
	Total    int `json:"total"`
	New      int `json:"new"`
	Existing int `json:"existing"`
	Invalid  int `json:"invalid"`
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
	Done    int `json:"done"`
	Total   int `json:"total"`
	Created int `json:"created"`
	Updated int `json:"updated"`
	Failed  int `json:"failed"`
}

// Summary is the outcome of a completed import.
type Summary struct {
	Created    int         `json:"created"`
	Updated    int         `json:"updated"`
	Skipped    int         `json:"skipped"`
	Failed     int         `json:"failed"`
	FailedRows []FailedRow `json:"failed_rows"`
	// WelcomeEmails is set when the import sent welcome emails.
	WelcomeEmails *WelcomeEmails `json:"welcome_emails,omitempty"`
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
		ID: imp.ID(), Source: imp.Source(), State: string(imp.State()), Step: string(imp.State().Step()),
		AccountType: imp.AccountType(), SendWelcomeEmail: imp.SendWelcomeEmail(), PresetID: optional(imp.PresetID()),
		File: File{Name: f.FileName, Size: f.FileSize, SHA256: f.FileSHA256, Rows: f.Rows, Headers: orEmpty(f.Headers),
			Encoding: f.Encoding, Delimiter: f.Delimiter, HeaderLine: f.HeaderLine},
		SuggestedMapping: f.SuggestedMapping, Mapping: imp.Mapping(),
		CreatedBy: imp.CreatedBy(), CreatedByEmail: imp.CreatedByEmail(), CreatedAt: imp.CreatedAt(), UpdatedAt: imp.UpdatedAt(),
	}
	if out.SuggestedMapping == nil {
		out.SuggestedMapping = map[string]string{}
	}
	if imp.Source() == importsession.SourceClassroom {
		c := imp.Classroom()
		out.File = File{Name: "Google Classroom", Rows: c.People, Headers: []string{}}
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
		out.Defaults = &Defaults{ForcePasswordChange: d.ForcePasswordChange, PasswordSet: d.PasswordSet, GroupID: optional(d.GroupID), TagIDs: tags}
	}
	ep := imp.ExistingPolicy()
	out.ExistingPolicy = ExistingPolicy{UpdatePassword: ep.UpdatePassword, UpdateGroup: ep.UpdateGroup, UpdateTags: ep.UpdateTags}
	c := imp.Counts()
	out.Counts = Counts{Total: c.Total, New: c.New, Existing: c.Existing, Invalid: c.Invalid}
	out.Verification = Verification{Pages: imp.Pages(), ReviewedPages: imp.ReviewedPages(), Skipped: imp.VerificationSkipped()}
	p := imp.Progress()
	out.Progress = Progress{Done: p.Done, Total: c.New + c.Existing, Created: p.Created, Updated: p.Updated, Failed: p.Failed}
	if imp.State() == importsession.StateCompleted {
		s := imp.Completed()
		out.Progress.Done = out.Progress.Total
		out.Summary = &Summary{Created: s.Created, Updated: s.Updated, Skipped: s.Skipped, Failed: s.Failed, FailedRows: []FailedRow{}}
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
