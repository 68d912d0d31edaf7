package spreadsheet

import (
	"context"
	"errors"
	"io"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/failure"
)

// Inspector implements the wizard's FileInspector: it reads the whole file
// once, streaming, to count the rows a person would count.
type Inspector struct{ Options Options }

var _ command.FileInspector = Inspector{}

// Inspect answers format problems as unsupported (415) or unprocessable (422).
func (i Inspector) Inspect(ctx context.Context, f command.File, ref command.FileRef) (command.FileInfo, error) {
	opts := i.Options
	opts.Encoding, opts.Delimiter = ref.Encoding, ref.Delimiter
	r, err := Open(f, f.Size(), ref.Name, opts)
	if err != nil {
		return command.FileInfo{}, asAppError(err)
	}
	defer r.Close()
	rows := 0
	for {
		if rows%4096 == 0 && ctx.Err() != nil {
			return command.FileInfo{}, ctx.Err()
		}
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return command.FileInfo{}, asAppError(err)
		}
		if !row.Blank {
			rows++
		}
	}
	info := r.Info()
	return command.FileInfo{Format: info.Format, Encoding: info.Encoding, Delimiter: info.Delimiter,
		Headers: info.Headers, HeaderLine: info.HeaderLine, Rows: rows}, nil
}

func asAppError(err error) error {
	var fe *FormatError
	if !errors.As(err, &fe) {
		return err
	}
	kind := failure.Unprocessable
	if fe.Code == "unsupported_file_type" {
		kind = failure.Unsupported
	}
	if fe.Code == "xlsx_too_large" || fe.Code == "sheet_too_large" {
		kind = failure.TooLarge
	}
	return &failure.Error{Kind: kind, Code: fe.Code, Message: fe.Message, Err: err}
}
