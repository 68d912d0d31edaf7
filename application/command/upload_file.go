package command

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// StoredUpload is a file stored (encrypted) but not yet an import.
type StoredUpload struct {
	ID     uuid.UUID
	Size   int64
	SHA256 string
}

// StoreUpload keeps an incoming file, encrypted as it streams in; past the
// size limit it answers 413 and keeps nothing. Multipart forms may send the
// options after the file, so storing comes first and Upload second.
func (w *ImportWizard) StoreUpload(ctx context.Context, body io.Reader) (StoredUpload, error) {
	id := uuid.New()
	size, sha, err := w.uploads.Put(ctx, id, body, w.maxUpload)
	if err != nil {
		_ = w.uploads.Delete(ctx, id)
		if errors.Is(err, ErrTooLarge) {
			return StoredUpload{}, failure.New(failure.TooLarge, "file_too_large", "The file is larger than %d MiB. Split it into smaller files, or remove columns you do not need.", w.maxUpload>>20)
		}
		return StoredUpload{}, err
	}
	return StoredUpload{ID: id, Size: size, SHA256: sha}, nil
}

// Discard forgets a stored upload that did not become an import.
func (w *ImportWizard) Discard(ctx context.Context, u StoredUpload) {
	if err := w.uploads.Delete(ctx, u.ID); err != nil {
		w.logger.WarnContext(ctx, "could not delete a discarded upload", "upload_id", u.ID, "err", err)
	}
}

// UploadFile starts an import from a stored CSV or Excel file.
type UploadFile struct {
	Actor            tenancy.Actor
	CorrelationID    string
	FileName         string
	File             StoredUpload
	AccountType      string
	SendWelcomeEmail bool
	PresetID         uuid.UUID
	// FollowUpOf names the import whose rejected rows the file fixes
	// (uuid.Nil: a file whose last column is "problems" is recognised).
	FollowUpOf uuid.UUID
}

// FileInspector reads what the wizard needs to know of a file: its format,
// encoding, delimiter, headers and number of data rows.
type FileInspector interface {
	Inspect(ctx context.Context, f File, ref FileRef) (FileInfo, error)
}

// Encodings and Delimiters are what a CSV may be read as, when the ones
// detected are wrong.
var (
	Encodings  = []string{"utf-8", "utf-8-bom", "utf-16le", "utf-16be", "windows-1252"}
	Delimiters = []string{",", ";", "\t"}
)

// FileRef names a stored file and how to read it: its encoding and
// delimiter ("" to detect them).
type FileRef struct {
	Name, Encoding, Delimiter string
}

// FileRefOf is the import's upload as its steps read it.
func FileRefOf(imp *importsession.Import) FileRef {
	f := imp.File()
	return FileRef{Name: f.FileName, Encoding: f.Encoding, Delimiter: f.Delimiter}
}

// FileInfo is what FileInspector found.
type FileInfo struct {
	Format     string
	Encoding   string
	Delimiter  string
	Headers    []string
	HeaderLine int
	Rows       int
}

// Upload inspects a stored file and records FileUploaded. A file that
// cannot be read, or options that are refused, leave nothing behind.
func (w *ImportWizard) Upload(ctx context.Context, cmd UploadFile) (imp *importsession.Import, err error) {
	defer func() {
		if err != nil {
			w.Discard(ctx, cmd.File)
		}
	}()
	if !cmd.Actor.Role.CanImport() {
		return nil, failure.New(failure.Forbidden, "forbidden", "Only administrators can import accounts.")
	}
	org, err := w.orgs.Organization(ctx, cmd.Actor.OrgID)
	if err != nil {
		return nil, err
	}
	if cmd.PresetID != uuid.Nil {
		ok, err := w.orgs.NamedExists(ctx, Presets, cmd.Actor.OrgID, []uuid.UUID{cmd.PresetID})
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, failure.New(failure.Unprocessable, "invalid_value", "There is no such preset in your organization.")
		}
	}
	if imp, err = w.startImport(ctx, cmd, org); err != nil {
		return nil, err
	}
	w.logger.InfoContext(ctx, "file uploaded", "import_id", imp.ID(), "org_id", cmd.Actor.OrgID, "rows", imp.File().Rows, "size", cmd.File.Size)
	return imp, nil
}

// followUp continues a new import (not saved yet) of fixed rejected rows
// from the import they come from, named or recognised by its "problems"
// column. A file recognised by its columns alone that cannot continue is
// imported afresh; one named explicitly is refused with the reason.
func (w *ImportWizard) followUp(ctx context.Context, cmd UploadFile, imp *importsession.Import) (copyPasswordFrom uuid.UUID, err error) {
	of := cmd.FollowUpOf
	headers := imp.File().Headers
	recognised := of == uuid.Nil
	if recognised {
		if len(headers) < 2 || !strings.EqualFold(headers[len(headers)-1], importsession.ProblemsColumn) {
			return uuid.Nil, nil
		}
		found, ok, err := w.earlier.RejectedRowsOf(ctx, cmd.Actor, headers[:len(headers)-1])
		if err != nil || !ok {
			return uuid.Nil, err
		}
		of = found
	}
	original, err := w.imports.Load(ctx, of)
	if err != nil {
		if recognised {
			return uuid.Nil, nil
		}
		return uuid.Nil, err
	}
	_, kept, err := w.secrets.DefaultPassword(ctx, of)
	if err != nil {
		return uuid.Nil, err
	}
	if err := imp.ContinueFrom(cmd.Actor, original, kept, w.now()); err != nil {
		if recognised {
			w.logger.InfoContext(ctx, "a file with a problems column is imported afresh", "import_id", imp.ID(), "reason", err)
			return uuid.Nil, nil
		}
		return uuid.Nil, err
	}
	if kept {
		return of, nil
	}
	return uuid.Nil, nil
}

// ErrTooLarge is what Uploads.Put returns past the limit.
var ErrTooLarge = errors.New("upload too large")

// MaxFileNameLength is how many characters of an uploaded file's name are
// kept: the name is shown and listed, and a 2 MiB name made every import
// list 2 MiB long.
const MaxFileNameLength = 255

// StoredFileName is the name an upload is kept under: control characters
// (NUL among them, which PostgreSQL refuses in text) dropped, invalid UTF-8
// replaced, and cut to MaxFileNameLength characters keeping the extension,
// which says whether it is a CSV or a workbook.
func StoredFileName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, "\uFFFD"))
	runes := []rune(name)
	if len(runes) <= MaxFileNameLength {
		return name
	}
	ext := []rune(filepath.Ext(name))
	if len(ext) > 16 { // not an extension, just a dot somewhere in a long name
		ext = nil
	}
	return string(runes[:MaxFileNameLength-len(ext)]) + string(ext)
}

func (w *ImportWizard) startImport(ctx context.Context, cmd UploadFile, org Organization) (*importsession.Import, error) {
	id, size, sha := cmd.File.ID, cmd.File.Size, cmd.File.SHA256
	cmd.FileName = StoredFileName(cmd.FileName)
	f, err := w.uploads.Open(ctx, id)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := w.inspector.Inspect(ctx, f, FileRef{Name: cmd.FileName})
	if err != nil {
		return nil, err
	}
	imp, err := importsession.NewImport(cmd.Actor, importsession.Upload{
		ID: id, Source: info.Format, FileName: cmd.FileName, FileSize: size, FileSHA256: sha, Rows: info.Rows,
		Headers: info.Headers, Encoding: info.Encoding, Delimiter: info.Delimiter, HeaderLine: info.HeaderLine,
		AccountType: cmd.AccountType, SendWelcomeEmail: cmd.SendWelcomeEmail, PresetID: cmd.PresetID,
		WelcomeEmailEnabled: org.WelcomeEmailEnabled,
	}, w.now())
	if err != nil {
		return nil, err
	}
	copyFrom, err := w.followUp(ctx, cmd, imp)
	if err != nil {
		return nil, err
	}
	if err := w.imports.Add(ctx, imp, meta(cmd.Actor, cmd.CorrelationID)); err != nil {
		return nil, err
	}
	// The follow-up's own copy of the default password, which the first
	// import's end will destroy.
	if copyFrom != uuid.Nil {
		pw, kept, err := w.secrets.DefaultPassword(ctx, copyFrom)
		if err == nil && kept {
			err = w.secrets.SaveDefaultPassword(ctx, imp.ID(), cmd.Actor.OrgID, pw)
		}
		if err != nil || !kept {
			// The import is saved; without the password its commit stops
			// and says so, and the importer sets the defaults again.
			w.logger.WarnContext(ctx, "could not copy the first import's default password", "import_id", imp.ID(), "of", copyFrom, "err", err)
		}
	}
	return imp, nil
}

// RereadFile reads a CSV again with the encoding and delimiter the importer
// chose ("" keeps detecting that one).
type RereadFile struct {
	Actor         tenancy.Actor
	CorrelationID string
	ImportID      uuid.UUID
	Encoding      string
	Delimiter     string
}

// RereadFile records FileReread; the mapping starts over.
func (w *ImportWizard) RereadFile(ctx context.Context, cmd RereadFile) (*importsession.Import, error) {
	imp, err := w.imports.Load(ctx, cmd.ImportID)
	if err != nil {
		return nil, err
	}
	if !imp.CanSee(cmd.Actor) {
		return nil, &importsession.NotFoundError{}
	}
	f, err := w.uploads.Open(ctx, imp.ID())
	if err != nil {
		return nil, failure.New(failure.Conflict, "upload_gone", "The uploaded file is no longer stored; upload it again.")
	}
	defer f.Close()
	info, err := w.inspector.Inspect(ctx, f, FileRef{Name: imp.File().FileName, Encoding: cmd.Encoding, Delimiter: cmd.Delimiter})
	if err != nil {
		return nil, err
	}
	return w.update(ctx, cmd.Actor, cmd.ImportID, cmd.CorrelationID, func(imp *importsession.Import) error {
		return imp.Reread(cmd.Actor, importsession.Upload{Encoding: info.Encoding, Delimiter: info.Delimiter, Headers: info.Headers,
			HeaderLine: info.HeaderLine, Rows: info.Rows}, w.now())
	})
}
