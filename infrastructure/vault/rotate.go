package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/uuid"
)

// Rotation counts what a rotation found.
type Rotation struct {
	Resealed int // sealed anew with the current key
	Current  int // already under the current key
	// Unreadable lists what neither key opens (sealed with a third key, or
	// damaged); it is left as it is.
	Unreadable []string
}

// Rotate re-encrypts with the current key every upload that the previous
// key sealed. Each file is written beside the old one and renamed over it,
// so a reader that has the old file open keeps reading it, and a crash
// leaves either file whole. Safe while `rollcall serve` runs: uploads are
// never rewritten in place, only created and deleted; an upload deleted in
// the instant between the check and the rename would come back as an
// orphan file (harmless: sealed, and named after an import that is over).
func (s *FileStore) Rotate(ctx context.Context) (Rotation, error) {
	var r Rotation
	if !s.key.HasPrevious() {
		return r, errors.New("vault: no previous key to rotate from")
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return r, err
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".rcv")
		id, err := uuid.Parse(name)
		if !ok || err != nil || !e.Type().IsRegular() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return r, err
		}
		resealed, err := s.rotateFile(id)
		switch {
		case errors.Is(err, ErrTampered):
			r.Unreadable = append(r.Unreadable, e.Name())
		case err != nil:
			return r, fmt.Errorf("rotate %s: %w", e.Name(), err)
		case resealed:
			r.Resealed++
		default:
			r.Current++
		}
	}
	return r, nil
}

func (s *FileStore) rotateFile(id uuid.UUID) (resealed bool, err error) {
	path := s.path(id)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // deleted meanwhile: its import ended
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	ad := []byte(id.String())
	r, err := NewFileReader(f, st.Size(), s.key, ad)
	if err != nil || !r.byPrevious {
		return false, err
	}
	tmp, err := os.CreateTemp(s.dir, "rotate-*.tmp")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing left to remove
	if _, err := EncryptFile(tmp, r, 0, s.key, ad); err != nil {
		_ = tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, err
	}
	return true, nil
}
