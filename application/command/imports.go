package command

import (
	"context"
	"io"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// Imports loads and saves Import aggregates. Update owns the transaction and
// the retry on a concurrent change: fn is pure domain and may run more than
// once.
type Imports interface {
	Add(ctx context.Context, imp *importsession.Import, meta Metadata) error
	Load(ctx context.Context, id uuid.UUID) (*importsession.Import, error)
	Update(ctx context.Context, id uuid.UUID, meta Metadata, fn func(*importsession.Import) error) (*importsession.Import, error)
}

// Uploads keeps uploaded files (encrypted) until their import ends.
type Uploads interface {
	Put(ctx context.Context, id uuid.UUID, r io.Reader, limit int64) (size int64, sha256 string, err error)
	Open(ctx context.Context, id uuid.UUID) (File, error)
	Delete(ctx context.Context, id uuid.UUID) error
}

// File is a stored upload, readable at random offsets.
type File interface {
	io.ReaderAt
	Size() int64
	Close() error
}

// ImportSecrets keeps an open import's default password, encrypted.
type ImportSecrets interface {
	SaveDefaultPassword(ctx context.Context, importID, orgID uuid.UUID, pw secret.Secret) error
	DefaultPassword(ctx context.Context, importID uuid.UUID) (secret.Secret, bool, error)
	Delete(ctx context.Context, importID uuid.UUID) error
}

// EarlierImports finds the import a file of rejected rows comes from: the
// newest the actor may see whose columns are the file's without the last
// "problems" column, and which had invalid rows.
type EarlierImports interface {
	RejectedRowsOf(ctx context.Context, actor tenancy.Actor, headers []string) (uuid.UUID, bool, error)
}

// Organizations tells what the wizard needs of an organization.
type Organizations interface {
	Organization(ctx context.Context, id uuid.UUID) (Organization, error)
	NamedExists(ctx context.Context, kind ReferenceKind, orgID uuid.UUID, ids []uuid.UUID) (bool, error)
	// CountAccounts is the number of accounts of the organization now.
	CountAccounts(ctx context.Context, orgID uuid.UUID) (int, error)
}
