package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/uuid"
)

// FileStore keeps encrypted uploads on local disk, one file per import.
type FileStore struct {
	dir string
	key Key
}

// NewFileStore creates the directory (0700) if needed.
func NewFileStore(dir string, key Key) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("upload directory %s: %w", dir, err)
	}
	return &FileStore{dir: dir, key: key}, nil
}

func (s *FileStore) path(id uuid.UUID) string { return filepath.Join(s.dir, id.String()+".rcv") }

// Put encrypts an upload as it streams in and returns its size and SHA-256.
// The plaintext passes only through memory, a chunk at a time; more than
// limit bytes is ErrTooLarge and leaves nothing behind.
func (s *FileStore) Put(_ context.Context, id uuid.UUID, plain io.Reader, limit int64) (size int64, sha string, err error) {
	tmp, err := os.CreateTemp(s.dir, "upload-*.tmp")
	if err != nil {
		return 0, "", err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	if size, err = EncryptFile(tmp, io.TeeReader(plain, h), limit, s.key, []byte(id.String())); err != nil {
		_ = tmp.Close()
		return size, "", err
	}
	if err = tmp.Sync(); err != nil {
		_ = tmp.Close()
		return 0, "", err
	}
	if err = tmp.Close(); err != nil {
		return 0, "", err
	}
	if err = os.Rename(tmp.Name(), s.path(id)); err != nil {
		return 0, "", err
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}

// ErrGone means the upload was deleted (the import ended) or never stored.
var ErrGone = errors.New("the uploaded file is no longer stored")

// Open returns a decrypting reader over the plaintext and a closer.
func (s *FileStore) Open(_ context.Context, id uuid.UUID) (*FileReader, io.Closer, error) {
	f, err := os.Open(s.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, ErrGone
	}
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	r, err := NewFileReader(f, st.Size(), s.key, []byte(id.String()))
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// Delete removes an upload; deleting one already gone is not an error.
func (s *FileStore) Delete(_ context.Context, id uuid.UUID) error {
	err := os.Remove(s.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
