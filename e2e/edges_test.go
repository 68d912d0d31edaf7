package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Two imports committed at the same time, sharing 25 of their emails: each
// email ends as exactly one account, and the rows that lost are reported.
func TestConcurrentImportsWithOverlappingEmails(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "IMPORT_BATCH_ROWS=10")
	root := w.root
	file := func(from, to int) []byte {
		var b strings.Builder
		b.WriteString("First Name,Last Name,Email\n")
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "Given%d,Family%d,person%03d@lincoln.edu\n", i, i, i)
		}
		return []byte(b.String())
	}
	var ids []string
	for _, f := range [][]byte{file(0, 50), file(25, 75)} {
		status, imp := root.uploadBytes("part.csv", f, nil)
		if status != 201 {
			t.Fatalf("upload: %d %v", status, imp)
		}
		id := imp["id"].(string)
		root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
		root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Shared-Start-1", "force_password_change": true})
		root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
		ids = append(ids, id)
	}
	for _, id := range ids {
		if c := root.waitForState(id, "validated")["counts"].(map[string]any); c["new"] != 50.0 {
			t.Fatalf("both imports see 50 new rows before either commits: %v", c)
		}
		root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
		}()
	}
	wg.Wait()
	created, failed := 0, 0
	var failedRows []any
	for _, id := range ids {
		s := root.waitForState(id, "completed")["summary"].(map[string]any)
		created += int(s["created"].(float64))
		failed += int(s["failed"].(float64))
		failedRows = append(failedRows, s["failed_rows"].([]any)...)
	}
	if created != 75 || failed != 25 || len(failedRows) != 25 {
		t.Fatalf("created %d, failed %d (%d listed); want 75 and 25", created, failed, len(failedRows))
	}
	for _, r := range failedRows {
		if r.(map[string]any)["code"] != "email_taken" {
			t.Fatalf("failed row %v", r)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var logins, events int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM account_logins WHERE email_key LIKE 'person%'`).Scan(&logins); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE event_type = 'AccountCreated' AND payload->>'Email' LIKE 'person%'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if logins != 75 || events != 75 {
		t.Fatalf("%d logins and %d AccountCreated events; want 75 each", logins, events)
	}
}

// keepsNothing fails the test when refused did leave a file in one of dirs
// (the encrypted uploads, the server's temporary directory).
func keepsNothing(t *testing.T, what string, dirs []string, refused func()) {
	t.Helper()
	before := filesIn(t, dirs)
	refused()
	after := filesIn(t, dirs)
	if left := slices.DeleteFunc(slices.Clone(after), func(f string) bool { return slices.Contains(before, f) }); len(left) > 0 {
		t.Errorf("%s left files behind: %v", what, left)
	}
	if gone := slices.DeleteFunc(slices.Clone(before), func(f string) bool { return slices.Contains(after, f) }); len(gone) > 0 {
		t.Errorf("%s deleted files it did not make: %v", what, gone)
	}
}

func filesIn(t *testing.T, dirs []string) []string {
	t.Helper()
	var files []string
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(files)
	return files
}

func TestPermissionsAndBadInput(t *testing.T) {
	t.Parallel()
	// The server's uploads and temporary files go to folders of this test,
	// so what a refused upload leaves behind can be seen.
	uploads, tmp := t.TempDir(), t.TempDir()
	kept := []string{uploads, tmp}
	w := newWorld(t, "UPLOAD_DIR="+uploads, "TMPDIR="+tmp)
	root := w.root
	env := w.env
	group := root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "Staff"})["id"].(string)
	rollcall(t, env, "account", "create", "--org", w.orgA, "--email", "ada@lincoln.edu", "--first", "Ada", "--last", "Admin",
		"--role", "admin", "--password", "admin-password-1", "--group", group)
	admin := &client{t: t, base: w.srv.URL}
	admin.signIn("ada@lincoln.edu", "admin-password-1")
	csvFile := []byte("First Name,Last Name,Email,Class\nAna,Lima,ana@lincoln.edu,Staff\n")

	// An administrator may not pick the account type, nor a group.
	keepsNothing(t, "a refused account type", kept, func() {
		if status, body := admin.uploadBytes("a.csv", csvFile, map[string]string{"account_type": "administrators"}); status != 403 || errorCode(body) != "forbidden" {
			t.Fatalf("admin importing administrators: %d %v", status, body)
		}
	})
	status, imp := admin.uploadBytes("a.csv", csvFile, nil)
	if status != 201 || imp["suggested_mapping"].(map[string]any)["Class"] != "ignore" {
		t.Fatalf("admin upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	if status, body := admin.do("PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": map[string]string{
		"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Class": "group"}}); status != 403 {
		t.Fatalf("admin mapping a group column: %d %v", status, body)
	}
	admin.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
	if status, body := admin.do("PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"group_id": group, "password": "Default-Pass-1"}); status != 403 {
		t.Fatalf("admin choosing a group: %d %v", status, body)
	}
	d := admin.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Default-Pass-1"})["defaults"].(map[string]any)
	if d["group_id"] != group || d["password_set"] != true {
		t.Fatalf("admin's defaults: %v", d)
	}
	// A group-scoped administrator lists the accounts of their group only.
	rollcall(t, env, "account", "create", "--org", w.orgA, "--email", "sam@lincoln.edu", "--first", "Sam", "--last", "Staff",
		"--role", "user", "--password", "sams-password-1", "--group", group)
	var listed string
	waitUntil(t, "the administrator's group in the account list", 30*time.Second, func() bool {
		var emails []string
		for _, a := range admin.must(200, "GET", "/api/v1/accounts", nil)["accounts"].([]any) {
			emails = append(emails, a.(map[string]any)["email"].(string))
		}
		listed = strings.Join(emails, ",")
		return strings.Contains(listed, "sam@lincoln.edu")
	})
	if listed != "ada@lincoln.edu,sam@lincoln.edu" {
		t.Fatalf("a group-scoped administrator lists %s", listed)
	}
	if n := root.must(200, "GET", "/api/v1/accounts", nil)["total"]; n != 4.0 {
		t.Fatalf("the system administrator lists %v accounts, want every one (4)", n)
	}
	if n := admin.must(200, "GET", "/api/v1/accounts?email=kim.existing@lincoln.edu", nil)["total"]; n != 0.0 {
		t.Fatalf("a group-scoped administrator finds an account of no group: %v", n)
	}

	// Welcome email while the organization has it off.
	keepsNothing(t, "a refused welcome email", kept, func() {
		if status, body := root.uploadBytes("a.csv", csvFile, map[string]string{"send_welcome_email": "true"}); status != 422 {
			t.Fatalf("welcome email while disabled: %d %v", status, body)
		}
	})
	// A signed-out caller.
	anon := &client{t: t, base: w.srv.URL}
	for _, path := range []string{"/api/v1/imports", "/api/v1/imports/" + id, "/api/v1/accounts"} {
		if status, _ := anon.do("GET", path, nil); status != 401 {
			t.Errorf("signed out GET %s: %d", path, status)
		}
	}
	// The sample file is public and is a valid upload.
	status, sample := anon.raw("/api/v1/imports/sample.csv")
	if status != 200 || !strings.HasPrefix(sample, "First Name,Last Name,Email") {
		t.Fatalf("sample: %d %q", status, sample)
	}
	if status, body := root.uploadBytes("sample.csv", []byte(sample), nil); status != 201 {
		t.Fatalf("uploading the sample: %d %v", status, body)
	}

	if len(filesIn(t, []string{uploads})) == 0 {
		t.Fatalf("no upload in %s although two were accepted: the checks below would watch the wrong folder", uploads)
	}

	// Bad files: each a clear error, nothing kept, and the service stays up.
	// A workbook whose sheet declares 700 MiB once inflated.
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	fw, _ := zw.CreateRaw(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Store, UncompressedSize64: 700 << 20, CompressedSize64: 4})
	_, _ = fw.Write([]byte("<a/>"))
	_ = zw.Close()
	tests := []struct {
		name   string
		file   string
		data   []byte
		status int
		code   string
	}{
		{"empty", "e.csv", []byte{}, 422, "empty_file"},
		{"header only", "h.csv", []byte("First Name,Last Name,Email\n"), 422, "header_only"},
		{"binary junk", "j.csv", bytes.Repeat([]byte{0, 1, 2, 3, 0xfe, 7}, 100), 415, "unsupported_file_type"},
		{"pdf", "x.pdf", []byte("%PDF-1.7\n..."), 415, "unsupported_file_type"},
		{"10 MB cell", "big.csv", []byte("A,B,Email\nx,y," + strings.Repeat("z", 10<<20) + "\n"), 422, "cell_too_large"},
		{"10,000 columns", "wide.csv", []byte(strings.Repeat("c,", 9999) + "c\n" + strings.Repeat("v,", 9999) + "v\n"), 422, "too_many_columns"},
		{"zip bomb", "bomb.xlsx", bomb.Bytes(), 413, "xlsx_too_large"},
		{"too large", "huge.csv", bytes.Repeat([]byte("a,b,c@d.org\n"), 6<<20), 413, "file_too_large"},
	}
	for _, tt := range tests {
		keepsNothing(t, "the refused "+tt.name+" upload", kept, func() {
			status, body := root.uploadBytes(tt.file, tt.data, nil)
			if status != tt.status || errorCode(body) != tt.code {
				t.Errorf("%s: %d %v, want %d %s", tt.name, status, body, tt.status, tt.code)
				return
			}
			if msg := body["error"].(map[string]any)["message"].(string); len(msg) < 30 {
				t.Errorf("%s: terse message %q", tt.name, msg)
			}
		})
	}
	if status, _ := anon.do("GET", "/readyz", nil); status != 200 {
		t.Fatalf("service not ready after bad input: %d", status)
	}
	// The open import was not touched (and, above, no refused upload was kept).
	open := root.must(200, "GET", "/api/v1/imports/"+id, nil)
	if open["state"] != "defaults_chosen" {
		t.Fatalf("the open import changed: %v", open["state"])
	}
}

// Windows-1252 with a semicolon, and an Excel workbook, through validation.
func TestEncodingsAndExcel(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.root
	for _, tt := range []struct {
		file, encoding, delimiter string
		first                     []string
	}{
		{"accents-1252.csv", "windows-1252", ";", []string{"Zoë", "José"}},
		{"people.xlsx", "", "", []string{"Zoë", "José"}},
	} {
		status, imp := root.upload(tt.file, nil)
		if status != 201 {
			t.Fatalf("%s: %d %v", tt.file, status, imp)
		}
		f := imp["file"].(map[string]any)
		if f["encoding"] != tt.encoding || f["delimiter"] != tt.delimiter || f["rows"] != 2.0 {
			t.Fatalf("%s: %v", tt.file, f)
		}
		id := imp["id"].(string)
		root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
		root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Accented-Start-1"})
		root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
		root.waitForState(id, "validated")
		rows := root.must(200, "GET", "/api/v1/imports/"+id+"/rows", nil)["rows"].([]any)
		var firsts []string
		for _, r := range rows {
			firsts = append(firsts, r.(map[string]any)["first_name"].(string))
		}
		if strings.Join(firsts, ",") != strings.Join(tt.first, ",") {
			t.Fatalf("%s: first names %v", tt.file, firsts)
		}
		// Leave it and come back: the resume list has it at its step.
		open := root.must(200, "GET", "/api/v1/imports?state=open", nil)["imports"].([]any)
		found := false
		waitUntil(t, "the resume list", 30*time.Second, func() bool {
			open = root.must(200, "GET", "/api/v1/imports?state=open", nil)["imports"].([]any)
			for _, o := range open {
				if o.(map[string]any)["id"] == id && o.(map[string]any)["step"] == "verification" {
					found = true
				}
			}
			return found
		})
		cancelled := root.must(200, "DELETE", "/api/v1/imports/"+id, nil)
		if cancelled["state"] != "cancelled" {
			t.Fatalf("cancel: %v", cancelled)
		}
	}
}
