package vault

import (
	"context"
	"errors"
	"io"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
)

// Uploads adapts the FileStore to the application's port.
type Uploads struct{ Store *FileStore }

var _ command.Uploads = Uploads{}

// Put stores an upload; past the limit it is command.ErrTooLarge.
func (u Uploads) Put(ctx context.Context, id uuid.UUID, r io.Reader, limit int64) (int64, string, error) {
	size, sha, err := u.Store.Put(ctx, id, r, limit)
	if errors.Is(err, ErrTooLarge) {
		return size, sha, command.ErrTooLarge
	}
	return size, sha, err
}

// Open returns the decrypted file.
func (u Uploads) Open(ctx context.Context, id uuid.UUID) (command.File, error) {
	r, closer, err := u.Store.Open(ctx, id)
	if err != nil {
		return nil, err
	}
	return openFile{r, closer}, nil
}

// Delete removes an upload.
func (u Uploads) Delete(ctx context.Context, id uuid.UUID) error { return u.Store.Delete(ctx, id) }

type openFile struct {
	*FileReader
	io.Closer
}
