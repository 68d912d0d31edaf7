package importjob

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
)

// Emails never contain a password: the welcome email says how to sign in,
// and the administrator tells people their first password.

func welcomeMail(orgID uuid.UUID, orgName string, ev account.AccountCreated) Mail {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nan account was created for you at %s.\n\n", ev.FirstName, orgName)
	fmt.Fprintf(&b, "Sign in with your email address: %s\n", ev.Email)
	b.WriteString("Your administrator will tell you your first password.\n")
	if ev.MustChangePassword {
		b.WriteString("You will be asked to choose a new one when you first sign in.\n")
	}
	b.WriteString("\nIf you did not expect this email, you can ignore it.\n")
	return Mail{OrgID: orgID, ImportID: ev.ImportID, IdempotencyKey: "welcome:" + ev.AccountID.String(), To: ev.Email,
		Subject: "Your new account at " + orgName, Text: b.String()}
}

func summaryMail(imp *importsession.Import, s importsession.ImportCompleted) Mail {
	var b strings.Builder
	name := imp.File().FileName
	if imp.Source() == importsession.SourceClassroom {
		name = "Google Classroom"
	}
	fmt.Fprintf(&b, "Your import from %s is complete.\n\n", name)
	fmt.Fprintf(&b, "Accounts created: %d\nAccounts updated: %d\nRows skipped as invalid: %d\nRows that failed: %d\n", s.Created, s.Updated, s.Skipped, s.Failed)
	for i, f := range s.FailedRows {
		if i == 20 {
			fmt.Fprintf(&b, "… and %d more (see the import's page)\n", len(s.FailedRows)-20)
			break
		}
		fmt.Fprintf(&b, "  row %d, %s: %s\n", f.Row, f.Email, f.Code)
	}
	return Mail{OrgID: imp.OrgID(), ImportID: imp.ID(), IdempotencyKey: "summary:" + imp.ID().String(), To: imp.CreatedByEmail(),
		Subject: fmt.Sprintf("Import complete: %d accounts created", s.Created), Text: b.String()}
}
