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
type Key struct{ b [32]byte }

// ParseKey accepts 32 bytes as base64 (standard or URL) or 64 hex digits.
func ParseKey(s string) (Key, error) {
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
	if err != nil || len(raw) != 32 {
		return Key{}, errors.New("ROLLCALL_SECRET_KEY must be 32 random bytes, base64 or hex; make one with: openssl rand -base64 32")
	}
	var k Key
	copy(k.b[:], raw)
	return k, nil
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
	sub, err := hkdf.Key(sha256.New, k.b[:], salt, purpose, 32)
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

// Open decrypts what Seal made.
func Open(key Key, sealed, associatedData []byte) ([]byte, error) {
	if len(sealed) < 1+16+12+16 || sealed[0] != sealVersion {
		return nil, ErrTampered
	}
	aead, err := key.derive(sealed[1:17], "rollcall seal v1")
	if err != nil {
		return nil, err
	}
	nonce := sealed[17 : 17+aead.NonceSize()]
	plain, err := aead.Open(nil, nonce, sealed[17+aead.NonceSize():], associatedData)
	if err != nil {
		return nil, ErrTampered
	}
	return plain, nil
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
	src    io.ReaderAt
	aead   cipher.AEAD
	ad     []byte
	size   int64
	chunks int64
	offset int64

	cachedIndex int64
	cached      []byte
}

// NewFileReader checks the header; chunks are authenticated as they are read.
func NewFileReader(src io.ReaderAt, encryptedSize int64, key Key, associatedData []byte) (*FileReader, error) {
	header := make([]byte, headerSize)
	if _, err := src.ReadAt(header, 0); err != nil || string(header[:4]) != magic {
		return nil, ErrTampered
	}
	aead, err := key.derive(header[4:36], "rollcall file v1")
	if err != nil {
		return nil, err
	}
	body := encryptedSize - headerSize
	chunks := (body + chunkSize + tagSize - 1) / (chunkSize + tagSize)
	size := body - chunks*tagSize
	if chunks < 1 || size < 0 {
		return nil, ErrTampered
	}
	return &FileReader{src: src, aead: aead, ad: associatedData, size: size, chunks: chunks, cachedIndex: -1}, nil
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
