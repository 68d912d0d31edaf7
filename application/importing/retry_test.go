package importing_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
)

// An email claimed by someone else between the batch's plan and its write
// makes the write fail on the unique email; the batch is planned again
// within the same job attempt, and only the row whose email was taken
// fails. Jobs get a single attempt here, so the job runner's own retry
// cannot stand in for the batch's.
func TestBatchIsPlannedAgainWhenAnEmailIsTakenMeanwhile(t *testing.T) {
	tests := []struct {
		name      string
		meanwhile string // the email someone else takes after the plan's read
		created   int
		failedRow int // 0: none
	}{
		{"a row's email taken: that row fails, the others are created", "bo@lincoln.edu", 2, 2},
		{"an unrelated email taken: every row is created", "zed@lincoln.edu", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			ctx := context.Background()
			imp := h.validate("First Name,Last Name,Email\nAna,Lima,ana@lincoln.edu\nBo,Ek,bo@lincoln.edu\nCy,Oz,cy@lincoln.edu\n",
				command.ChooseDefaults{Password: secret.New("Welcome-2026!"), ForcePasswordChange: true}, importsession.StateValidated)
			if imp.Counts().New != 3 {
				t.Fatalf("counts %+v", imp.Counts())
			}
			if _, err := h.pool.Exec(ctx, `ALTER TABLE jobs ALTER COLUMN max_attempts SET DEFAULT 1`); err != nil {
				t.Fatal(err)
			}
			taken := make(chan error, 1)
			h.holders.arm(func() { taken <- h.tryCreateAccount(tt.meanwhile, "meanwhile-password-1") })
			done := h.commit(imp.ID(), importsession.ExistingPolicy{})
			if err := <-taken; err != nil {
				t.Fatalf("taking %s meanwhile: %v", tt.meanwhile, err)
			}
			s := done.Completed()
			wantFailed := 0
			if tt.failedRow != 0 {
				wantFailed = 1
			}
			if s.Created != tt.created || s.Failed != wantFailed {
				t.Fatalf("summary %+v, want %d created and %d failed", s, tt.created, wantFailed)
			}
			if tt.failedRow != 0 && (s.FailedRows[0].Code != "email_taken" || s.FailedRows[0].Row != tt.failedRow) {
				t.Fatalf("failed rows %+v, want row %d email_taken", s.FailedRows, tt.failedRow)
			}
			if !h.signsIn(tt.meanwhile, "meanwhile-password-1") {
				t.Fatal("the account made meanwhile was overwritten")
			}
			if n := h.count(`SELECT count(*) FROM account_logins WHERE org_id = $1`, h.orgID); n != 2+tt.created {
				t.Fatalf("%d accounts, want root, the one made meanwhile and %d imported", n, tt.created)
			}
		})
	}
}

// tryCreateAccount is createAccount for a goroutine that is not the test's.
func (h *harness) tryCreateAccount(email, pw string) error {
	create, err := command.NewCreateAccountHandler(h.accounts, h.tenancy, h.hasher, policy, time.Now)
	if err != nil {
		return err
	}
	_, err = create.Handle(context.Background(), command.CreateAccount{OrgID: h.orgID, Email: email, FirstName: "Pat", LastName: "Person",
		Role: "user", GroupID: uuid.Nil, Password: secret.New(pw)})
	return err
}
