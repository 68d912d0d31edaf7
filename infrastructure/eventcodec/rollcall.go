package eventcodec

import (
	"encoding/json"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
)

// Rollcall is the registry of every event of Rollcall's domain with the
// upcasters of their older schemas: the one place names map to types.
func Rollcall() *Registry {
	reg := NewRegistry()
	for _, ev := range account.Events() {
		reg.Register(ev)
	}
	for _, ev := range importsession.Events() {
		reg.Register(ev)
	}
	for _, ev := range account.MailEvents() {
		reg.Register(ev)
	}
	for _, ev := range account.EmailEvents() {
		reg.Register(ev)
	}
	reg.AddUpcaster("AccountUpdated", 1, accountUpdatedV1)
	return reg
}

// accountUpdatedV1 lifts AccountUpdated from its first schema, which held
// flags and the new group only: the group it replaced was not recorded, so
// it reads as no group.
func accountUpdatedV1(payload json.RawMessage) (json.RawMessage, error) {
	var v1 struct {
		AccountID, ImportID uuid.UUID
		ImportRow           int
		PasswordChanged     bool
		GroupChanged        bool
		GroupID             uuid.UUID
		TagIDsAdded         []uuid.UUID
		UpdatedAt           json.RawMessage
	}
	if err := json.Unmarshal(payload, &v1); err != nil {
		return nil, err
	}
	v2 := map[string]any{
		"AccountID": v1.AccountID, "ImportID": v1.ImportID, "ImportRow": v1.ImportRow, "TagsAdded": v1.TagIDsAdded,
		"PasswordReplaced": v1.PasswordChanged, "UpdatedAt": v1.UpdatedAt,
	}
	if v1.GroupChanged {
		v2["Group"] = map[string]any{"From": uuid.Nil, "To": v1.GroupID}
	}
	return json.Marshal(v2)
}
