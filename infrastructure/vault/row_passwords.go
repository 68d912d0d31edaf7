package vault

import (
	"encoding/binary"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/domain/secret"
)

// RowPasswords seals a row's own password between the validation and the
// commit, bound to its import and row: a sealed value copied to another
// row or import does not open.
type RowPasswords struct{ Key Key }

var _ importing.Sealer = RowPasswords{}

func rowBinding(importID uuid.UUID, row int) []byte {
	return binary.BigEndian.AppendUint64(append([]byte("row-password:"), importID[:]...), uint64(row))
}

// Seal encrypts the password.
func (p RowPasswords) Seal(importID uuid.UUID, row int, pw secret.Secret) ([]byte, error) {
	return Seal(p.Key, []byte(pw.Reveal()), rowBinding(importID, row))
}

// Open decrypts it.
func (p RowPasswords) Open(importID uuid.UUID, row int, sealed []byte) (secret.Secret, error) {
	plain, err := Open(p.Key, sealed, rowBinding(importID, row))
	if err != nil {
		return secret.Secret{}, err
	}
	return secret.New(string(plain)), nil
}

// SealCard encrypts a generated password for its login card, bound to its
// account: the associated data is the account id's 16 bytes, as `rollcall
// secrets rotate` expects of a column keyed by a uuid.
func (p RowPasswords) SealCard(accountID uuid.UUID, pw secret.Secret) ([]byte, error) {
	return Seal(p.Key, []byte(pw.Reveal()), accountID[:])
}

// OpenCard decrypts what SealCard sealed.
func (p RowPasswords) OpenCard(accountID uuid.UUID, sealed []byte) (secret.Secret, error) {
	plain, err := Open(p.Key, sealed, accountID[:])
	if err != nil {
		return secret.Secret{}, err
	}
	return secret.New(string(plain)), nil
}
