package spreadsheet

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/importing"
)

// Uploads reads the stored (encrypted) uploads row by row, for the import
// jobs and the review.
type Uploads struct {
	Store   command.Uploads
	Options Options
}

var _ importing.Files = Uploads{}

// Open reads the import's upload; a file that cannot be read is an
// *importing.UnreadableError with the reason for the importer.
func (u Uploads) Open(ctx context.Context, importID uuid.UUID, ref command.FileRef) (importing.RowReader, error) {
	f, err := u.Store.Open(ctx, importID)
	if err != nil {
		return nil, &importing.UnreadableError{Reason: "The uploaded file is no longer stored (it is deleted when an import ends). Upload it again."}
	}
	opts := u.Options
	opts.Encoding, opts.Delimiter = ref.Encoding, ref.Delimiter
	r, err := Open(f, f.Size(), ref.Name, opts)
	if err != nil {
		f.Close()
		return nil, unreadable(err)
	}
	return &uploadRows{file: f, reader: r}, nil
}

type uploadRows struct {
	file   command.File
	reader *Reader
}

func (u *uploadRows) Headers() []string { return u.reader.Info().Headers }

func (u *uploadRows) Next() (importing.FileRow, error) {
	row, err := u.reader.Next()
	if err != nil {
		return importing.FileRow{}, unreadable(err)
	}
	return importing.FileRow{Number: row.Number, Cells: row.Cells, Blank: row.Blank}, nil
}

func (u *uploadRows) Close() error {
	return errors.Join(u.reader.Close(), u.file.Close())
}

// unreadable turns the reader's own refusals into the application's; other
// errors (io.EOF, a failing disk) pass through.
func unreadable(err error) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		return &importing.UnreadableError{Reason: fmt.Sprint(fe.Message)}
	}
	return err
}
