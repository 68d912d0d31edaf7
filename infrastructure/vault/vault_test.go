package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
)

func TestFileRoundTripsAndRandomAccess(t *testing.T) {
	key := NewRandomKey()
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 1<<20 + 17} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			plain := make([]byte, size)
			_, _ = rand.Read(plain)
			var enc bytes.Buffer
			if n, err := EncryptFile(&enc, bytes.NewReader(plain), 0, key, []byte("import-1")); err != nil || n != int64(size) {
				t.Fatal(n, err)
			}
			r, err := NewFileReader(bytes.NewReader(enc.Bytes()), int64(enc.Len()), key, []byte("import-1"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("round trip: %v (got %d bytes)", err, len(got))
			}
			for range 50 {
				if size == 0 {
					break
				}
				off := mrand.IntN(size)
				n := mrand.IntN(size-off) + 1
				buf := make([]byte, n)
				if _, err := r.ReadAt(buf, int64(off)); err != nil && err != io.EOF {
					t.Fatal(err)
				}
				if !bytes.Equal(buf, plain[off:off+n]) {
					t.Fatalf("ReadAt(%d, %d) differs", off, n)
				}
			}
		})
	}
}

func TestTamperingIsDetected(t *testing.T) {
	key := NewRandomKey()
	plain := bytes.Repeat([]byte("Password123,"), 20000) // three chunks
	var buf bytes.Buffer
	if _, err := EncryptFile(&buf, bytes.NewReader(plain), 0, key, []byte("import-1")); err != nil {
		t.Fatal(err)
	}
	enc := buf.Bytes()
	if bytes.Contains(enc, []byte("Password123")) {
		t.Fatal("plaintext visible in the encrypted file")
	}
	flip := bytes.Clone(enc)
	flip[headerSize+100] ^= 1
	swapped := bytes.Clone(enc)
	c := chunkSize + tagSize
	copy(swapped[headerSize:headerSize+c], enc[headerSize+c:headerSize+2*c])
	copy(swapped[headerSize+c:headerSize+2*c], enc[headerSize:headerSize+c])
	tests := []struct {
		name string
		data []byte
		key  Key
		ad   string
	}{
		{"flipped bit", flip, key, "import-1"},
		{"truncated", enc[:len(enc)-c/2], key, "import-1"},
		{"dropped last chunk", enc[:headerSize+2*c], key, "import-1"},
		{"reordered chunks", swapped, key, "import-1"},
		{"wrong key", enc, NewRandomKey(), "import-1"},
		{"moved to another import", enc, key, "import-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewFileReader(bytes.NewReader(tt.data), int64(len(tt.data)), tt.key, []byte(tt.ad))
			if err == nil {
				_, err = io.ReadAll(r)
			}
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("err = %v, want ErrTampered", err)
			}
		})
	}
}

func TestSealAndFileStore(t *testing.T) {
	key := NewRandomKey()
	sealed, err := Seal(key, []byte("refresh-token"), []byte("account-1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(key, sealed, []byte("account-1")); err != nil || string(got) != "refresh-token" {
		t.Fatalf("Open = %q %v", got, err)
	}
	if _, err := Open(key, sealed, []byte("account-2")); !errors.Is(err, ErrTampered) {
		t.Fatalf("other owner: %v", err)
	}
	if fmt.Sprintf("%v %+v %#v %s", key, key, key, key) != "[redacted] [redacted] [redacted] [redacted]" {
		t.Fatal("the key prints")
	}

	dir := t.TempDir()
	store, err := NewFileStore(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	plain := []byte("First Name,Email,Password\nAna,ana@x.org,Secret-Pass-1\n")
	if _, _, err := store.Put(context.Background(), uuid.New(), bytes.NewReader(plain), 10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("a refused upload left %v", left)
	}
	size, sha, err := store.Put(context.Background(), id, bytes.NewReader(plain), 1<<20)
	if err != nil || len(sha) != 64 || size != int64(len(plain)) {
		t.Fatalf("Put: %d %s %v", size, sha, err)
	}
	stored, _ := os.ReadFile(filepath.Join(dir, id.String()+".rcv"))
	if bytes.Contains(stored, []byte("Secret-Pass-1")) {
		t.Fatal("password stored in clear")
	}
	r, closer, err := store.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	closer.Close()
	if !bytes.Equal(got, plain) {
		t.Fatalf("read back %q", got)
	}
	// A file renamed to another import's id does not open.
	other := uuid.New()
	if err := os.Rename(filepath.Join(dir, id.String()+".rcv"), filepath.Join(dir, other.String()+".rcv")); err != nil {
		t.Fatal(err)
	}
	if r, c, err := store.Open(context.Background(), other); err == nil {
		_, err = io.ReadAll(r)
		c.Close()
		if !errors.Is(err, ErrTampered) {
			t.Fatalf("renamed file: %v", err)
		}
	}
	if err := store.Delete(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(context.Background(), other); err != nil {
		t.Fatal("deleting twice:", err)
	}
	if _, _, err := store.Open(context.Background(), other); !errors.Is(err, ErrGone) {
		t.Fatalf("deleted file: %v", err)
	}
}

func TestRotationKeepsOldDataReadable(t *testing.T) {
	old, current, stranger := NewRandomKey(), NewRandomKey(), NewRandomKey()
	rotating := current.WithPrevious(old)
	sealedByOld, _ := Seal(old, []byte("refresh-token"), []byte("account-1"))
	sealedByCurrent, _ := Seal(current, []byte("other-token"), []byte("account-2"))
	sealedByStranger, _ := Seal(stranger, []byte("x"), []byte("account-3"))

	tests := []struct {
		name         string
		key          Key
		sealed       []byte
		ad           string
		want         string
		wantResealed bool
		wantErr      error
	}{
		{"previous key opens during a rotation", rotating, sealedByOld, "account-1", "refresh-token", true, nil},
		{"current key opens", rotating, sealedByCurrent, "account-2", "other-token", false, nil},
		{"a third key does not", rotating, sealedByStranger, "account-3", "", false, ErrTampered},
		{"the previous key still binds the owner", rotating, sealedByOld, "account-2", "", false, ErrTampered},
		{"after the rotation the old key is forgotten", current, sealedByOld, "account-1", "", false, ErrTampered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, err := Open(tt.key, tt.sealed, []byte(tt.ad))
			if !errors.Is(err, tt.wantErr) || string(plain) != tt.want {
				t.Fatalf("Open = %q, %v; want %q, %v", plain, err, tt.want, tt.wantErr)
			}
			out, resealed, err := Reseal(tt.key, tt.sealed, []byte(tt.ad))
			if !errors.Is(err, tt.wantErr) || resealed != tt.wantResealed {
				t.Fatalf("Reseal: resealed %v, %v", resealed, err)
			}
			if err != nil {
				return
			}
			// Whatever Reseal returns opens with the current key alone.
			if plain, err := Open(current, out, []byte(tt.ad)); err != nil || string(plain) != tt.want {
				t.Fatalf("after Reseal: %q %v", plain, err)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	a, b := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
	for _, tt := range []struct {
		current, previous string
		ok, previousSet   bool
	}{
		{a, "", true, false},
		{a, b, true, true},
		{a, a, false, false},
		{a, "not a key", false, false},
		{"", b, false, false},
	} {
		k, err := ParseKeys(tt.current, tt.previous)
		if (err == nil) != tt.ok || (err == nil && k.HasPrevious() != tt.previousSet) {
			t.Errorf("ParseKeys(%q, %q) = previous %v, %v", tt.current, tt.previous, k.HasPrevious(), err)
		}
	}
}

func TestFileStoreRotate(t *testing.T) {
	old, current := NewRandomKey(), NewRandomKey()
	dir := t.TempDir()
	ctx := context.Background()
	plain := bytes.Repeat([]byte("Ana,ana@x.org,Secret-Pass-1\n"), 5000) // several chunks
	oldStore, _ := NewFileStore(dir, old)
	oldIDs := []uuid.UUID{uuid.New(), uuid.New()}
	for _, id := range oldIDs {
		if _, _, err := oldStore.Put(ctx, id, bytes.NewReader(plain), 0); err != nil {
			t.Fatal(err)
		}
	}
	rotating, _ := NewFileStore(dir, current.WithPrevious(old))
	newID := uuid.New()
	if _, _, err := rotating.Put(ctx, newID, bytes.NewReader(plain), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, uuid.NewString()+".rcv"), []byte("RCV1 not really"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (&FileStore{dir: dir, key: current}).Rotate(ctx); err == nil {
		t.Error("rotated without a previous key")
	}

	got, err := rotating.Rotate(ctx)
	if err != nil || got.Resealed != 2 || got.Current != 1 || len(got.Unreadable) != 1 {
		t.Fatalf("Rotate = %+v, %v", got, err)
	}
	if again, err := rotating.Rotate(ctx); err != nil || again.Resealed != 0 || again.Current != 3 {
		t.Fatalf("second Rotate = %+v, %v", again, err)
	}
	// The new key alone reads every upload, the old one none.
	after, _ := NewFileStore(dir, current)
	for _, id := range append(oldIDs, newID) {
		r, c, err := after.Open(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		read, err := io.ReadAll(r)
		c.Close()
		if err != nil || !bytes.Equal(read, plain) {
			t.Fatalf("%s: %v", id, err)
		}
		if _, _, err := oldStore.Open(ctx, id); !errors.Is(err, ErrTampered) {
			t.Fatalf("%s opens with the old key: %v", id, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) != 0 {
		t.Errorf("left behind %v", left)
	}
}
