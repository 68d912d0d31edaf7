package query

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// AuditEvent is one event of a trail as the read model keeps it: Event is
// the domain event, decoded (nil for a type this build does not know),
// Data the same as JSON for those who want the record itself.
type AuditEvent struct {
	Position int64
	Type     string
	At       time.Time
	Actor    AuditActor
	Stream   string
	Event    any
	Data     json.RawMessage
}

// AuditActor is who did it.
type AuditActor struct {
	ID    *uuid.UUID `json:"id"`
	Email string     `json:"email"`
}

// AuditLink leads from a sentence to what it speaks of.
type AuditLink struct {
	URL  string `json:"url"`
	Text string `json:"text"`
}

// AuditEntry is one event of a trail told as a sentence.
type AuditEntry struct {
	Position int64           `json:"position"`
	Type     string          `json:"type"`
	At       time.Time       `json:"at"`
	Actor    AuditActor      `json:"actor"`
	Who      string          `json:"who"`
	Sentence string          `json:"sentence"`
	Link     *AuditLink      `json:"link,omitempty"`
	Data     json.RawMessage `json:"data"`
}

// Audit answers the audit trails; Queries embeds it, and the operator's
// command line uses it alone.
type Audit struct {
	rm    ReadModel
	names Names
}

// NewAudit refuses nil dependencies.
func NewAudit(rm ReadModel, names Names) (*Audit, error) {
	if rm == nil || names == nil {
		return nil, errors.New("query: NewAudit needs a read model and the names")
	}
	return &Audit{rm: rm, names: names}, nil
}

// visible is an import of the actor's organization they may see, with
// every event recorded so far.
func (q *Audit) visible(ctx context.Context, actor tenancy.Actor, id uuid.UUID) (*importsession.Import, error) {
	imp, err := q.rm.CurrentImport(ctx, actor.OrgID, id)
	if err != nil {
		return nil, err
	}
	if !imp.CanSee(actor) {
		return nil, ErrNotFound
	}
	return imp, nil
}

// ImportTrail is the audit trail of one import the actor may see.
func (q *Audit) ImportTrail(ctx context.Context, actor tenancy.Actor, id uuid.UUID) ([]AuditEntry, error) {
	if _, err := q.visible(ctx, actor, id); err != nil {
		return nil, err
	}
	events, err := q.rm.StreamAudit(ctx, actor.OrgID, importsession.StreamID(id))
	if err != nil {
		return nil, err
	}
	return q.narrate(ctx, actor.OrgID, q.visibleImports(ctx, actor), events)
}

// AccountTrail is the audit trail of one account, found by email, if the
// actor may see it (tenancy.Actor.CanView): an account out of reach is
// answered as one that does not exist.
func (q *Audit) AccountTrail(ctx context.Context, actor tenancy.Actor, email string) ([]AuditEntry, error) {
	noAccount := failure.New(failure.NotFound, "not_found", "There is no account with this email among the accounts you can see.")
	target, err := q.rm.AccountReach(ctx, actor.OrgID, email)
	if errors.Is(err, ErrNotFound) {
		return nil, noAccount
	}
	if err != nil {
		return nil, err
	}
	if !actor.CanView(target) {
		return nil, noAccount
	}
	events, err := q.accountEvents(ctx, actor.OrgID, target.ID)
	if err != nil {
		return nil, err
	}
	return q.narrate(ctx, actor.OrgID, q.visibleImports(ctx, actor), events)
}

// accountEvents are the events of the account's stream and of its sign-ins'
// (kept apart, see account.SignedIn), in the order they were recorded.
func (q *Audit) accountEvents(ctx context.Context, orgID, id uuid.UUID) ([]AuditEvent, error) {
	events, err := q.rm.StreamAudit(ctx, orgID, account.StreamID(id))
	if err != nil {
		return nil, err
	}
	signIns, err := q.rm.StreamAudit(ctx, orgID, account.SignInStreamID(id))
	if err != nil {
		return nil, err
	}
	events = append(events, signIns...)
	slices.SortStableFunc(events, func(a, b AuditEvent) int { return cmp.Compare(a.Position, b.Position) })
	return events, nil
}

// OperatorTrail is an import's ("import", id) or an account's ("account",
// email) audit trail in whichever organization it lives, for the operator's
// command line, which acts for no one in particular.
func (q *Audit) OperatorTrail(ctx context.Context, kind, key string) ([]AuditEntry, error) {
	var orgID uuid.UUID
	var stream string
	switch kind {
	case "import":
		id, err := uuid.Parse(key)
		if err != nil {
			return nil, &importsession.InvalidValueError{Message: key + " is not an import id."}
		}
		org, err := q.rm.ImportOrg(ctx, id)
		if err != nil {
			return nil, err
		}
		orgID, stream = org, importsession.StreamID(id)
	case "account":
		target, err := q.rm.AccountAnywhere(ctx, key)
		if err != nil {
			return nil, err
		}
		orgID = target.OrgID
		events, err := q.accountEvents(ctx, orgID, target.ID)
		if err != nil {
			return nil, err
		}
		names, err := q.rm.ImportNames(ctx, orgID, uuid.Nil)
		if err != nil {
			return nil, err
		}
		return q.narrate(ctx, orgID, names, events)
	default:
		return nil, errors.New("query: a trail is of an import or an account")
	}
	events, err := q.rm.StreamAudit(ctx, orgID, stream)
	if err != nil {
		return nil, err
	}
	names, err := q.rm.ImportNames(ctx, orgID, uuid.Nil)
	if err != nil {
		return nil, err
	}
	return q.narrate(ctx, orgID, names, events)
}

// visibleImports names the imports the actor may open, for links.
func (q *Audit) visibleImports(ctx context.Context, actor tenancy.Actor) map[uuid.UUID]string {
	createdBy := uuid.Nil
	if !actor.Role.IsSystemAdmin() {
		createdBy = actor.ID
	}
	names, err := q.rm.ImportNames(ctx, actor.OrgID, createdBy)
	if err != nil || !actor.Role.CanImport() {
		// Without the names, the sentences say "an import": the trail
		// itself is still whole.
		return map[uuid.UUID]string{}
	}
	return names
}

// narrate tells each event in order: the upload's column order makes the
// later mapping read as the file does.
func (q *Audit) narrate(ctx context.Context, orgID uuid.UUID, imports map[uuid.UUID]string, events []AuditEvent) ([]AuditEntry, error) {
	names := auditNames{imports: imports}
	for kind, dst := range map[command.ReferenceKind]*map[uuid.UUID]string{command.Groups: &names.groups, command.Tags: &names.tags, command.Presets: &names.presets} {
		list, err := q.names.ListNamed(ctx, kind, orgID)
		if err != nil {
			return nil, err
		}
		*dst = map[uuid.UUID]string{}
		for _, item := range list {
			(*dst)[item.ID] = item.Name
		}
	}
	n := narrator{names: names}
	out := make([]AuditEntry, 0, len(events))
	for _, e := range events {
		entry := AuditEntry{Position: e.Position, Type: e.Type, At: e.At, Actor: e.Actor, Who: e.Actor.Email, Data: e.Data}
		if entry.Who == "" {
			// No signed-in person: the command line or a background step.
			entry.Who = "Rollcall (automatic)"
		}
		sentence, link := n.describe(e.Type, e.Event)
		entry.Sentence = sentence
		if link.URL != "" {
			entry.Link = &link
		}
		out = append(out, entry)
	}
	return out, nil
}
