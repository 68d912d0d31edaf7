// Package vault encrypts what Rollcall keeps at rest that holds secrets: the
// uploaded files (their password columns) and stored OAuth tokens. Keys come
// from ROLLCALL_SECRET_KEY; files are sealed in chunks with AES-256-GCM so
// they can be read row by row and at random offsets without decrypting the
// whole file.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Key is a 256-bit secret key. It never prints.
//
// During a rotation of ROLLCALL_SECRET_KEY a Key also carries the previous
// key (WithPrevious): what that one sealed still opens, while everything new
// is sealed with the current key; Reseal and FileStore.Rotate move what is
// stored over to the current key.
type Key struct {
	b        [32]byte
	previous *[32]byte
}

// ParseKey accepts 32 bytes as base64 (standard or URL) or 64 hex digits.
func ParseKey(s string) (Key, error) {
	raw, ok := parseKeyBytes(s)
	if !ok {
		return Key{}, errors.New("ROLLCALL_SECRET_KEY must be 32 random bytes, base64 or hex; make one with: openssl rand -base64 32")
	}
	return Key{b: raw}, nil
}

// ParseKeys reads ROLLCALL_SECRET_KEY and, when set,
// ROLLCALL_SECRET_KEY_PREVIOUS (the key being rotated away from).
func ParseKeys(current, previous string) (Key, error) {
	k, err := ParseKey(current)
	if err != nil || strings.TrimSpace(previous) == "" {
		return k, err
	}
	prev, ok := parseKeyBytes(previous)
	if !ok {
		return Key{}, errors.New("ROLLCALL_SECRET_KEY_PREVIOUS must be the previous key as it was set: 32 bytes, base64 or hex")
	}
	if prev == k.b {
		return Key{}, errors.New("ROLLCALL_SECRET_KEY_PREVIOUS is the same key as ROLLCALL_SECRET_KEY: set the new key in ROLLCALL_SECRET_KEY and the old one in ROLLCALL_SECRET_KEY_PREVIOUS")
	}
	return k.WithPrevious(Key{b: prev}), nil
}

func parseKeyBytes(s string) ([32]byte, bool) {
	s = strings.TrimSpace(s)
	var raw []byte
	var err error
	switch {
	case len(s) == 64:
		raw, err = hex.DecodeString(s)
	default:
		raw, err = base64.StdEncoding.DecodeString(s)
		if err != nil {
			raw, err = base64.URLEncoding.DecodeString(s)
		}
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(s)
		}
	}
	var b [32]byte
	if err != nil || len(raw) != 32 {
		return b, false
	}
	copy(b[:], raw)
	return b, true
}

// WithPrevious returns k that also opens what prev sealed.
func (k Key) WithPrevious(prev Key) Key {
	b := prev.b
	k.previous = &b
	return k
}

// HasPrevious reports whether k carries a previous key.
func (k Key) HasPrevious() bool { return k.previous != nil }

// openers are the keys that may open something: the current one first.
func (k Key) openers() [][32]byte {
	if k.previous == nil {
		return [][32]byte{k.b}
	}
	return [][32]byte{k.b, *k.previous}
}

// NewRandomKey makes a key, for development and tests.
func NewRandomKey() Key {
	var k Key
	_, _ = rand.Read(k.b[:])
	return k
}

func (Key) String() string             { return "[redacted]" }
func (Key) GoString() string           { return "[redacted]" }
func (Key) LogValue() slog.Value       { return slog.StringValue("[redacted]") }
func (Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[redacted]")) }

// Derive returns a 32-byte subkey for another purpose (signing CSRF
// tokens), so one configured secret serves without reusing key material.
func (k Key) Derive(purpose string) []byte {
	sub, _ := hkdf.Key(sha256.New, k.b[:], nil, "rollcall "+purpose, 32)
	return sub
}

func (k Key) derive(salt []byte, purpose string) (cipher.AEAD, error) {
	return deriveAEAD(k.b, salt, purpose)
}

func deriveAEAD(b [32]byte, salt []byte, purpose string) (cipher.AEAD, error) {
	sub, err := hkdf.Key(sha256.New, b[:], salt, purpose, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ErrTampered means the ciphertext was changed, truncated, reordered, or
// sealed with another key or for another owner.
var ErrTampered = errors.New("vault: the encrypted data is damaged or was sealed with another key")

const sealVersion = 1

// Seal encrypts a small value (a token) bound to associatedData.
func Seal(key Key, plaintext, associatedData []byte) ([]byte, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	aead, err := key.derive(salt, "rollcall seal v1")
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{sealVersion}, salt...)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, associatedData), nil
}

// Open decrypts what Seal made, with the current key or the previous one.
func Open(key Key, sealed, associatedData []byte) ([]byte, error) {
	plain, _, err := open(key, sealed, associatedData)
	return plain, err
}

// open also says whether the previous key was needed.
func open(key Key, sealed, associatedData []byte) (plain []byte, byPrevious bool, err error) {
	if len(sealed) < 1+16+12+16 || sealed[0] != sealVersion {
		return nil, false, ErrTampered
	}
	for i, b := range key.openers() {
		aead, err := deriveAEAD(b, sealed[1:17], "rollcall seal v1")
		if err != nil {
			return nil, false, err
		}
		nonce := sealed[17 : 17+aead.NonceSize()]
		if plain, err := aead.Open(nil, nonce, sealed[17+aead.NonceSize():], associatedData); err == nil {
			return plain, i > 0, nil
		}
	}
	return nil, false, ErrTampered
}

// Reseal returns sealed under the current key: unchanged (resealed false)
// when the current key sealed it, sealed anew when the previous one did.
// It fails with ErrTampered when neither key opens it.
func Reseal(key Key, sealed, associatedData []byte) (out []byte, resealed bool, err error) {
	plain, byPrevious, err := open(key, sealed, associatedData)
	if err != nil || !byPrevious {
		return sealed, false, err
	}
	out, err = Seal(key, plain, associatedData)
	return out, err == nil, err
}

// File format: "RCV1" | 32-byte salt | chunks. Each chunk holds chunkSize
// plaintext bytes (the last one fewer, possibly none) sealed with a subkey
// derived from the salt; its nonce is the chunk index and a last-chunk flag,
// and the associated data binds the owner, so reordering, truncating or
// moving a file to another owner is detected. The plaintext size follows from
// the encrypted size, so a file can be written while it streams in.
const (
	magic      = "RCV1"
	chunkSize  = 64 << 10
	tagSize    = 16
	headerSize = 4 + 32
)

func chunkNonce(index uint64, last bool) []byte {
	nonce := make([]byte, 12)
	binary.BigEndian.PutUint64(nonce[3:11], index)
	if last {
		nonce[11] = 1
	}
	return nonce
}

// ErrTooLarge means the plaintext passed the limit given to EncryptFile.
var ErrTooLarge = errors.New("vault: the file is larger than allowed")

// EncryptFile encrypts r as it streams in and returns the plaintext size.
// A limit > 0 stops with ErrTooLarge once more than limit bytes arrived.
func EncryptFile(w io.Writer, r io.Reader, limit int64, key Key, associatedData []byte) (int64, error) {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return 0, err
	}
	aead, err := key.derive(salt, "rollcall file v1")
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(append([]byte(magic), salt...)); err != nil {
		return 0, err
	}
	// One chunk of look-ahead tells whether the current chunk is the last.
	cur, next := make([]byte, chunkSize), make([]byte, chunkSize)
	curN, err := io.ReadFull(r, cur)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return 0, err
	}
	out := make([]byte, 0, chunkSize+tagSize)
	var total int64
	for index := uint64(0); ; index++ {
		nextN := 0
		if curN == chunkSize {
			nextN, err = io.ReadFull(r, next)
			if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
				return 0, err
			}
		}
		total += int64(curN)
		if limit > 0 && total > limit {
			return total, ErrTooLarge
		}
		last := nextN == 0
		out = aead.Seal(out[:0], chunkNonce(index, last), cur[:curN], associatedData)
		if _, err := w.Write(out); err != nil {
			return 0, err
		}
		if last {
			return total, nil
		}
		cur, next, curN = next, cur, nextN
	}
}

// FileReader decrypts an encrypted file on demand, a chunk at a time.
type FileReader struct {
	// byPrevious says the previous key sealed the file (see Key).
	byPrevious bool

	src    io.ReaderAt
	aead   cipher.AEAD
	ad     []byte
	size   int64
	chunks int64
	offset int64

	cachedIndex int64
	cached      []byte
}

// NewFileReader checks the header and the first chunk, which tells which
// key (the current one or the previous) sealed the file; the other chunks
// are authenticated as they are read.
func NewFileReader(src io.ReaderAt, encryptedSize int64, key Key, associatedData []byte) (*FileReader, error) {
	header := make([]byte, headerSize)
	if _, err := src.ReadAt(header, 0); err != nil || string(header[:4]) != magic {
		return nil, ErrTampered
	}
	body := encryptedSize - headerSize
	chunks := (body + chunkSize + tagSize - 1) / (chunkSize + tagSize)
	size := body - chunks*tagSize
	if chunks < 1 || size < 0 {
		return nil, ErrTampered
	}
	for i, b := range key.openers() {
		aead, err := deriveAEAD(b, header[4:36], "rollcall file v1")
		if err != nil {
			return nil, err
		}
		f := &FileReader{byPrevious: i > 0, src: src, aead: aead, ad: associatedData, size: size, chunks: chunks, cachedIndex: -1}
		if _, err := f.chunk(0); err == nil {
			return f, nil
		}
	}
	return nil, ErrTampered
}

// Size is the plaintext size.
func (f *FileReader) Size() int64 { return f.size }

func (f *FileReader) chunk(i int64) ([]byte, error) {
	if i == f.cachedIndex {
		return f.cached, nil
	}
	n := min(chunkSize, f.size-i*chunkSize)
	sealed := make([]byte, n+tagSize)
	if _, err := f.src.ReadAt(sealed, headerSize+i*(chunkSize+tagSize)); err != nil && !(errors.Is(err, io.EOF) && i == f.chunks-1) {
		return nil, ErrTampered
	}
	plain, err := f.aead.Open(sealed[:0], chunkNonce(uint64(i), i == f.chunks-1), sealed, f.ad)
	if err != nil {
		return nil, ErrTampered
	}
	f.cachedIndex, f.cached = i, plain
	return plain, nil
}

// ReadAt implements io.ReaderAt over the plaintext.
func (f *FileReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("vault: negative offset")
	}
	if f.size == 0 && f.cachedIndex < 0 {
		// An empty file still has one authenticated chunk to check.
		if _, err := f.chunk(0); err != nil {
			return 0, err
		}
	}
	read := 0
	for read < len(p) {
		pos := off + int64(read)
		if pos >= f.size {
			return read, io.EOF
		}
		plain, err := f.chunk(pos / chunkSize)
		if err != nil {
			return read, err
		}
		read += copy(p[read:], plain[pos%chunkSize:])
	}
	return read, nil
}

// Read implements io.Reader.
func (f *FileReader) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.offset)
	f.offset += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (f *FileReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.offset
	case io.SeekEnd:
		offset += f.size
	}
	if offset < 0 {
		return 0, errors.New("vault: negative position")
	}
	f.offset = offset
	return offset, nil
}
