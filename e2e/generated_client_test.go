package e2e

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	rollcallapi "github.com/rollcall/rollcall/client"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

// The Go client generated from the OpenAPI description speaks to the real
// server: what the description says is what the server answers, errors
// included (a generated client decodes an answer only under the status
// the description gives it).
func TestGeneratedClientAgainstTheServer(t *testing.T) {
	t.Parallel()
	env := []string{"DATABASE_URL=" + pgtest.NewDatabase(t)}
	rollcall(t, env, "migrate")
	org, _ := rollcall(t, env, "org", "create", "--name", "Lincoln High")
	org = strings.TrimSpace(org)
	rollcall(t, env, "account", "create", "--org", org, "--email", "root@lincoln.edu", "--first", "Ria", "--last", "Root",
		"--role", "system_admin", "--password", "root-password-1")
	srv := startServer(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	anon, err := rollcallapi.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := anon.SignInWithResponse(ctx, rollcallapi.SignInRequest{Email: "root@lincoln.edu", Password: "not-the-password"})
	if err != nil {
		t.Fatal(err)
	}
	if wrong.JSON401 == nil || wrong.JSON401.Error.Code != "invalid_credentials" {
		t.Fatalf("wrong password: %s, want 401 invalid_credentials decoded as Error", shown(wrong))
	}
	session, err := anon.SignInWithResponse(ctx, rollcallapi.SignInRequest{Email: "root@lincoln.edu", Password: "root-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	if session.JSON200 == nil || session.JSON200.Token == "" || session.JSON200.Account.Role != rollcallapi.RoleSystemAdmin ||
		session.JSON200.Account.OrgId.String() != org {
		t.Fatalf("sign in: %s", shown(session))
	}
	api, err := rollcallapi.NewClientWithResponses(srv.URL, rollcallapi.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+session.JSON200.Token)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}

	group, err := api.CreateGroupWithResponse(ctx, rollcallapi.NamedRequest{Name: "7B"})
	if err != nil || group.JSON201 == nil || group.JSON201.Name != "7B" {
		t.Fatalf("create group: %v %s", err, shown(group))
	}

	contentType, file := classListForm(t)
	uploaded, err := api.UploadImportWithBodyWithResponse(ctx, contentType, file)
	if err != nil || uploaded.JSON201 == nil {
		t.Fatalf("upload: %v %s", err, shown(uploaded))
	}
	imp := uploaded.JSON201
	if imp.Source != rollcallapi.ImportSourceCsv || imp.State != rollcallapi.ImportStateUploaded || imp.File.Rows != 118 || imp.SuggestedMapping == nil {
		t.Fatalf("uploaded import: %s", uploaded.Body)
	}

	// The list is a read model: the upload shows in it shortly after.
	open := rollcallapi.ListImportsParamsStateOpen
	var listed *rollcallapi.ListImportsResponse
	waitUntil(t, "the upload in the list of open imports", time.Minute, func() bool {
		listed, err = api.ListImportsWithResponse(ctx, &rollcallapi.ListImportsParams{State: &open})
		if err != nil || listed.JSON200 == nil {
			t.Fatalf("open imports: %v %s", err, shown(listed))
		}
		return len(listed.JSON200.Imports) == 1
	})
	if listed.JSON200.Imports[0].Id != imp.Id {
		t.Fatalf("open imports: %s, want %s alone", listed.Body, imp.Id)
	}

	columns := map[string]rollcallapi.ColumnRole{}
	for header, role := range *imp.SuggestedMapping {
		columns[header] = rollcallapi.ColumnRole(role)
	}
	mapped, err := api.MapImportColumnsWithResponse(ctx, imp.Id, rollcallapi.MappingRequest{Columns: columns})
	if err != nil || mapped.JSON200 == nil || mapped.JSON200.State != rollcallapi.ImportStateMapped || mapped.JSON200.Step != rollcallapi.ImportStepDefaults {
		t.Fatalf("map columns: %v %s", err, shown(mapped))
	}
	early, err := api.CommitImportWithResponse(ctx, imp.Id, rollcallapi.CommitRequest{})
	if err != nil || early.JSON409 == nil || early.JSON409.Error.Code != "wrong_wizard_step" {
		t.Fatalf("commit before validation: %v %s, want 409 wrong_wizard_step", err, shown(early))
	}

	missing, err := api.GetImportWithResponse(ctx, uuid.New())
	if err != nil || missing.JSON404 == nil || missing.JSON404.Error.Code != "not_found" {
		t.Fatalf("a missing import: %v %s", err, shown(missing))
	}

	description, err := anon.GetOpenAPIDescriptionWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../ports/http/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if description.YAML200 == nil || (*description.YAML200)["openapi"] != "3.0.3" || !bytes.Equal(description.Body, want) {
		t.Fatalf("GET /api/v1/openapi.yaml: %d, not the committed description", description.StatusCode())
	}

	out, err := api.SignOutWithResponse(ctx)
	if err != nil || out.StatusCode() != http.StatusNoContent {
		t.Fatalf("sign out: %v %s", err, shown(out))
	}
	after, err := api.GetImportWithResponse(ctx, imp.Id)
	if err != nil || after.JSON401 == nil || after.JSON401.Error.Code != "unauthorized" {
		t.Fatalf("after sign-out: %v %s", err, shown(after))
	}
}

// classListForm is the multipart upload of testdata/class-list.csv.
func classListForm(t *testing.T) (string, *bytes.Buffer) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "class-list.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "class-list.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &body
}

// shown is a generated response's status and body, for a failure message.
func shown(resp any) string {
	v := reflect.ValueOf(resp)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return "no answer"
	}
	status := v.MethodByName("StatusCode").Call(nil)[0].Int()
	return fmt.Sprintf("%d %s", status, v.Elem().FieldByName("Body").Bytes())
}
