package command

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// memoryImports keeps one import's events in memory.
type memoryImports struct{ events []any }

func (m *memoryImports) Add(context.Context, *importsession.Import, Metadata) error { return nil }
func (m *memoryImports) Load(context.Context, uuid.UUID) (*importsession.Import, error) {
	return importsession.Rehydrate(m.events), nil
}
func (m *memoryImports) Update(ctx context.Context, id uuid.UUID, _ Metadata, fn func(*importsession.Import) error) (*importsession.Import, error) {
	imp, _ := m.Load(ctx, id)
	if err := fn(imp); err != nil {
		return nil, err
	}
	m.events = append(m.events, imp.PendingEvents()...)
	return imp, nil
}

type cardStore struct {
	cards     []LoginCard
	expiresAt time.Time
	found     bool
}

func (s cardStore) LoginCards(context.Context, uuid.UUID, uuid.UUID) ([]LoginCard, time.Time, bool, error) {
	return s.cards, s.expiresAt, s.found, nil
}
func (s cardStore) Expiry(context.Context, uuid.UUID, uuid.UUID) (time.Time, bool, error) {
	return s.expiresAt, s.found, nil
}

type printer struct {
	err    error
	sheets []LoginCardSheet
}

func (p *printer) Print(s LoginCardSheet) ([]byte, error) {
	p.sheets = append(p.sheets, s)
	return []byte("%PDF-1.4"), p.err
}

type oneOrg struct{}

func (oneOrg) Organization(_ context.Context, id uuid.UUID) (Organization, error) {
	return Organization{ID: id, Name: "Lincoln High"}, nil
}
func (oneOrg) NamedExists(context.Context, ReferenceKind, uuid.UUID, []uuid.UUID) (bool, error) {
	return true, nil
}
func (oneOrg) CountAccounts(context.Context, uuid.UUID) (int, error) { return 0, nil }

// The cards leave only audited, and only while the stored window is open:
// the window kept with the cards is checked at read time, whatever the
// events say.
func TestDownloadLoginCards(t *testing.T) {
	committedAt := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	now := committedAt.Add(time.Hour)
	org, importID := uuid.New(), uuid.New()
	importer := tenancy.Actor{ID: uuid.New(), OrgID: org, Email: "ada@lincoln.edu", Role: tenancy.RoleAdmin, GroupID: uuid.New()}
	events := []any{
		importsession.FileUploaded{ImportID: importID, OrgID: org, ActorID: importer.ID, ActorEmail: importer.Email, ActorGroupID: importer.GroupID,
			ActorRole: string(tenancy.RoleAdmin), Source: importsession.SourceCSV, Headers: []string{"Email"}, AccountType: importsession.AccountTypeUsers, UploadedAt: committedAt},
		importsession.ColumnsMapped{Mapping: map[string]string{"Email": importsession.FieldEmail}},
		importsession.DefaultsChosen{GeneratePasswords: true, ForcePasswordChange: true, GroupID: importer.GroupID},
		importsession.ValidationStarted{}, importsession.RowsValidated{Total: 2, New: 2}, importsession.VerificationSkipped{},
		importsession.ImportCommitted{ExpectedNew: 2, Chunks: 1, ChunkRows: 10, CommittedAt: committedAt},
		importsession.ImportCompleted{Created: 2, CompletedAt: committedAt},
	}
	two := []LoginCard{{FirstName: "Zoë", Email: "zoe@lincoln.edu", Password: secret.New("a-b-c-d-001")}, {FirstName: "Bo", Email: "bo@lincoln.edu", Password: secret.New("a-b-c-d-002")}}
	for _, tc := range []struct {
		name       string
		store      cardStore
		printErr   error
		wantKind   failure.Kind
		wantOK     bool
		wantPrints int
	}{
		{"open window: the cards, and the download recorded", cardStore{two, now.Add(time.Minute), true}, nil, 0, true, 1},
		{"the stored window closed before the events say: gone", cardStore{two, now.Add(-time.Second), true}, nil, failure.Gone, false, 0},
		{"swept: gone", cardStore{}, nil, failure.Gone, false, 0},
		{"the PDF fails: nothing recorded", cardStore{two, now.Add(time.Minute), true}, errors.New("disk full"), failure.Internal, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imports := &memoryImports{events: append([]any(nil), events...)}
			p := &printer{err: tc.printErr}
			h, err := NewLoginCardsHandler(imports, tc.store, p, oneOrg{}, "https://rollcall.example/", func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			doc, err := h.Handle(context.Background(), DownloadLoginCards{Actor: importer, ImportID: importID})
			recorded := len(imports.events) - len(events)
			if tc.wantOK {
				if err != nil || len(doc) == 0 || recorded != 1 {
					t.Fatalf("doc %d bytes, err %v, %d events recorded", len(doc), err, recorded)
				}
				d := imports.events[len(imports.events)-1].(importsession.LoginCardsDownloaded)
				if d.ByActor != importer.ID || d.Cards != 2 || !d.DownloadedAt.Equal(now) {
					t.Errorf("recorded %+v", d)
				}
				if s := p.sheets[0]; s.SignInURL != "https://rollcall.example/sign-in" || s.Organization != "Lincoln High" || len(s.Cards) != 2 {
					t.Errorf("printed %+v", s)
				}
			} else {
				f, ok := failure.As(err)
				if err == nil || (tc.wantKind != failure.Internal && (!ok || f.Kind != tc.wantKind)) || recorded != 0 || doc != nil {
					t.Fatalf("err %v, doc %d bytes, %d events recorded", err, len(doc), recorded)
				}
			}
			if len(p.sheets) != tc.wantPrints {
				t.Errorf("printed %d times, want %d", len(p.sheets), tc.wantPrints)
			}
			avail, err := h.Availability(context.Background(), importer, importID)
			if err != nil || avail.Available != (tc.store.found && now.Before(tc.store.expiresAt)) {
				t.Errorf("availability %+v %v", avail, err)
			}
		})
	}
}
