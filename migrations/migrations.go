// Package migrations holds the SQL schema of Rollcall as goose migrations,
// embedded in the binary so `rollcall migrate` needs no files on disk.
package migrations

import "embed"

// FS holds every migration, applied in file-name order.
//
//go:embed *.sql
var FS embed.FS
