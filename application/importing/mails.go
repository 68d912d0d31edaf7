package importing

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
)

// Emails never contain a password: the welcome email says how to sign in,
// and the administrator tells people their first password.

// generated: the account's password was generated for it and is handed
// over on a login card, which the email says, never what is on it.
func welcomeMail(orgName, publicURL string, importID uuid.UUID, a *account.Account, generated bool) Mail {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nan account was created for you at %s.\n\n", a.FirstName(), orgName)
	if publicURL != "" {
		fmt.Fprintf(&b, "Sign in at %s/sign-in\n", strings.TrimSuffix(publicURL, "/"))
	}
	fmt.Fprintf(&b, "with your email address: %s\n", a.Email())
	if generated {
		b.WriteString("Your administrator will give you a login card with your first password.\n")
	} else {
		b.WriteString("Your administrator will tell you your first password.\n")
	}
	if a.MustChangePassword() {
		b.WriteString("You will be asked to choose a new one when you first sign in.\n")
	}
	b.WriteString("\nIf you did not expect this email, you can ignore it.\n")
	return Mail{OrgID: a.OrgID(), ImportID: importID, IdempotencyKey: welcomeKey(a.ID()), To: a.Email().String(),
		Subject: "Your new account at " + orgName, Text: b.String()}
}

// welcomeKey is the outbox key of an account's welcome email.
func welcomeKey(accountID uuid.UUID) string { return "welcome:" + accountID.String() }

func summaryMail(imp *importsession.Import, orgName, publicURL string) Mail {
	s := imp.Completed()
	var b strings.Builder
	name := imp.File().FileName
	if imp.Source() == importsession.SourceClassroom {
		name = "Google Classroom"
	}
	fmt.Fprintf(&b, "Your import from %s into %s is complete.\n\n", name, orgName)
	// The figures add up to the file's rows, so nobody wonders where some went.
	rows := "Rows in the file"
	if imp.Source() == importsession.SourceClassroom {
		rows = "People in the rosters"
	}
	fmt.Fprintf(&b, "%s: %d\n", rows, imp.File().Rows)
	fmt.Fprintf(&b, "Accounts created: %d\nExisting accounts changed: %d\nExisting accounts unchanged: %d\nRows skipped as invalid: %d\nRows that failed: %d\n",
		s.Created, s.Updated, s.Unchanged, s.Skipped, s.Failed)
	if s.Deactivated > 0 {
		fmt.Fprintf(&b, "Accounts of students who left the class, deactivated: %d\n", s.Deactivated)
	}
	if blank := imp.Counts().Blank; blank > 0 {
		fmt.Fprintf(&b, "Blank rows ignored: %d\n", blank)
	}
	for i, f := range s.FailedRows {
		if i == 20 {
			fmt.Fprintf(&b, "… and %d more (see the import's page)\n", len(s.FailedRows)-20)
			break
		}
		fmt.Fprintf(&b, "  row %d, %s: %s\n", f.Row, f.Email, f.Code)
	}
	if imp.GeneratesPasswords() && s.Created > 0 {
		fmt.Fprintf(&b, "\nThe new accounts' passwords were generated: download their login cards from the import's page before %s UTC, when they are destroyed.\n",
			imp.LoginCardsExpireAt().UTC().Format("2 January 2006 at 15:04"))
	}
	if publicURL != "" {
		fmt.Fprintf(&b, "\nThe import's page: %s/imports/%s\n", strings.TrimSuffix(publicURL, "/"), imp.ID())
	}
	return Mail{OrgID: imp.OrgID(), ImportID: imp.ID(), IdempotencyKey: "summary:" + imp.ID().String(), To: imp.CreatedByEmail(),
		Subject: fmt.Sprintf("Import complete: %d accounts created, %d changed", s.Created, s.Updated), Text: b.String()}
}

func undoneMail(imp *importsession.Import, orgName, publicURL string) Mail {
	u, by := imp.Undone(), imp.UndoStarted()
	var b strings.Builder
	fmt.Fprintf(&b, "The import of %s into %s was undone by %s.\n\n", imp.File().FileName, orgName, by.ByEmail)
	fmt.Fprintf(&b, "Accounts deactivated (they had been created by the import): %d\nAccounts put back as they were before it: %d\nAccounts with fields kept because they changed again since: %d\n",
		u.Deactivated, u.Restored, u.Kept)
	if u.Reactivated > 0 {
		fmt.Fprintf(&b, "Accounts of students who had left the class, reactivated: %d\n", u.Reactivated)
	}
	for i, k := range u.KeptAccounts {
		if i == 20 {
			fmt.Fprintf(&b, "… and %d more (see the import's page)\n", len(u.KeptAccounts)-20)
			break
		}
		fmt.Fprintf(&b, "  %s: kept %s\n", k.Email, strings.Join(k.Fields, ", "))
	}
	if publicURL != "" {
		fmt.Fprintf(&b, "\nThe import's page: %s/imports/%s\n", strings.TrimSuffix(publicURL, "/"), imp.ID())
	}
	return Mail{OrgID: imp.OrgID(), ImportID: imp.ID(), IdempotencyKey: "undone:" + imp.ID().String(), To: by.ByEmail,
		Subject: fmt.Sprintf("Import undone: %d accounts deactivated, %d put back", u.Deactivated, u.Restored), Text: b.String()}
}
