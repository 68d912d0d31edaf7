package spreadsheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

func openCSV(src *io.SectionReader, opts Options) (*Reader, error) {
	enc, decoder, err := detectEncoding(src)
	if err != nil {
		return nil, err
	}
	if opts.Encoding != "" && opts.Encoding != enc {
		if decoder, err = namedDecoder(opts.Encoding); err != nil {
			return nil, err
		}
		enc = opts.Encoding
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	// The whole record is bounded, not only each cell: encoding/csv keeps a
	// record in memory until it ends, and a quote that is never closed would
	// otherwise swallow the file.
	maxRecord := int64(max(opts.MaxCellBytes*4, 1<<20))
	limited := &recordLimiter{limit: maxRecord}
	text := bufio.NewReaderSize(transform.NewReader(src, decoder), 64<<10)

	sample, _ := text.Peek(64 << 10)
	delim := detectDelimiter(sample)
	if opts.Delimiter != "" {
		if delim, err = namedDelimiter(opts.Delimiter); err != nil {
			return nil, err
		}
	}
	limited.r = text

	cr := csv.NewReader(limited)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = false

	rd := &Reader{
		info: Info{Format: "csv", Encoding: enc, Delimiter: string(delim)},
		opts: opts,
	}
	rd.next = func() ([]string, error) {
		limited.n = 0
		rec, err := cr.Read()
		line := rd.line + 1
		if err == nil && len(rec) > 0 {
			line, _ = cr.FieldPos(0)
			rd.line = line
		}
		if err == io.EOF {
			return nil, io.EOF
		}
		if errors.Is(err, errRecordTooLarge) {
			return nil, formatError("cell_too_large", "Row %d of the file is longer than %d KiB, usually because a quote (\") is never closed or a cell holds a whole document. Fix that row and upload again.", line, maxRecord>>10)
		}
		var parseErr *csv.ParseError
		if errors.As(err, &parseErr) {
			return nil, formatError("malformed_csv", "The file cannot be read as CSV at line %d: %v. Save it again from your spreadsheet program.", parseErr.Line, parseErr.Err)
		}
		if err != nil {
			return nil, err
		}
		if len(rec) > opts.MaxColumns*4 {
			return nil, formatError("too_many_columns", "Row %d has %d cells; Rollcall reads at most %d columns. Remove the extra columns and upload again.", line, len(rec), opts.MaxColumns)
		}
		for _, cell := range rec {
			if len(cell) > opts.MaxCellBytes {
				return nil, formatError("cell_too_large", "A cell on row %d holds more than %d KiB. Cells should hold a name, an email or a password; fix that cell and upload again.", line, opts.MaxCellBytes>>10)
			}
		}
		return rec, nil
	}
	return rd, nil
}

var errRecordTooLarge = errors.New("record too large")

// recordLimiter fails a read once one record has taken more than limit
// bytes; the reader resets n before each record.
type recordLimiter struct {
	r     io.Reader
	n     int64
	limit int64
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	if l.n > l.limit {
		return 0, errRecordTooLarge
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// detectEncoding reads the BOM, the zero-byte pattern of UTF-16, and checks
// the whole file for valid UTF-8 (streaming, a chunk at a time); what is not
// UTF-8 is taken as Windows-1252, the usual export of older spreadsheets.
func detectEncoding(src *io.SectionReader) (string, transform.Transformer, error) {
	head := make([]byte, 4096)
	n, err := src.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return "", nil, err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return "utf-8-bom", unicode.UTF8BOM.NewDecoder(), nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return "utf-16le", unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder(), nil
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return "utf-16be", unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder(), nil
	}
	if len(head) >= 4 {
		evenZeros, oddZeros := 0, 0
		for i, b := range head {
			if b == 0 {
				if i%2 == 0 {
					evenZeros++
				} else {
					oddZeros++
				}
			}
		}
		switch {
		case oddZeros > len(head)/4 && evenZeros == 0:
			return "utf-16le", unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder(), nil
		case evenZeros > len(head)/4 && oddZeros == 0:
			return "utf-16be", unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder(), nil
		}
	}
	valid, err := validUTF8(src)
	if err != nil {
		return "", nil, err
	}
	if valid {
		return "utf-8", encoding.Nop.NewDecoder(), nil
	}
	return "windows-1252", charmap.Windows1252.NewDecoder(), nil
}

func validUTF8(src *io.SectionReader) (bool, error) {
	buf := make([]byte, 256<<10)
	var carry []byte
	var off int64
	for {
		n, err := src.ReadAt(buf[len(carry):], off)
		off += int64(n)
		chunk := buf[:len(carry)+n]
		if err == io.EOF || n == 0 {
			return utf8.Valid(chunk), nil
		}
		if err != nil {
			return false, err
		}
		// Keep an incomplete rune at the end for the next chunk.
		cut := len(chunk)
		for i := 0; i < 3 && cut > 0 && !utf8.RuneStart(chunk[cut-1]); i++ {
			cut--
		}
		if cut > 0 && !utf8.FullRune(chunk[cut-1:]) {
			cut--
		}
		if !utf8.Valid(chunk[:cut]) {
			return false, nil
		}
		carry = append(carry[:0], chunk[cut:]...)
		copy(buf, carry)
	}
}

func namedDecoder(name string) (transform.Transformer, error) {
	switch name {
	case "utf-8":
		return encoding.Nop.NewDecoder(), nil
	case "utf-8-bom":
		return unicode.UTF8BOM.NewDecoder(), nil
	case "utf-16le":
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder(), nil
	case "utf-16be":
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewDecoder(), nil
	case "windows-1252":
		return charmap.Windows1252.NewDecoder(), nil
	}
	return nil, formatError("unknown_encoding", "%q is not an encoding Rollcall reads; choose one of utf-8, utf-16le, utf-16be or windows-1252.", name)
}

func namedDelimiter(d string) (rune, error) {
	switch d {
	case ",", ";", "\t":
		return []rune(d)[0], nil
	}
	return 0, formatError("unknown_delimiter", "%q is not a separator Rollcall reads; choose a comma, a semicolon or a tab.", d)
}

// detectDelimiter picks, among comma, semicolon and tab, the one that splits
// the sample's lines into the same number of cells most consistently.
func detectDelimiter(sample []byte) rune {
	candidates := []rune{',', ';', '\t'}
	best, bestScore := ',', 0
	for _, d := range candidates {
		counts := countPerLine(sample, d, 20)
		mode, freq := 0, 0
		tally := map[int]int{}
		for _, c := range counts {
			tally[c]++
			if c > 0 && (tally[c] > freq || (tally[c] == freq && c > mode)) {
				mode, freq = c, tally[c]
			}
		}
		if score := freq * 1000 / max(len(counts), 1) * min(mode, 50); mode > 0 && score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

// countPerLine counts the delimiter outside quotes on each of the first
// lines (a quoted newline does not end a line).
func countPerLine(sample []byte, d rune, lines int) []int {
	var counts []int
	inQuotes, count := false, 0
	for _, r := range string(sample) {
		switch {
		case r == '"':
			inQuotes = !inQuotes
		case r == d && !inQuotes:
			count++
		case r == '\n' && !inQuotes:
			counts = append(counts, count)
			count = 0
			if len(counts) == lines {
				return counts
			}
		}
	}
	if count > 0 {
		counts = append(counts, count)
	}
	return counts
}
