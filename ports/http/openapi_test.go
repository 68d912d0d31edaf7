package http

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
)

// loadDescription reads and validates openapi.yaml as OpenAPI 3.
func loadDescription(t *testing.T) *openapi3.T {
	t.Helper()
	raw, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("openapi.yaml does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// The description is served as it is in the repository, under the API's
// rules for query strings.
func TestOpenAPIIsServed(t *testing.T) {
	want, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	tests := []struct {
		name, target, contentType, code string
		status                          int
	}{
		{"the description", "/api/v1/openapi.yaml", "application/yaml", "", http.StatusOK},
		{"a NUL in the query", "/api/v1/openapi.yaml?v=%00", "application/json", "invalid_parameter", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tt.contentType)
			}
			if tt.code == "" {
				if !bytes.Equal(rec.Body.Bytes(), want) {
					t.Error("the served description differs from ports/http/openapi.yaml")
				}
				return
			}
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != tt.code {
				t.Errorf("body %s, want the error %s", rec.Body, tt.code)
			}
		})
	}
}

// notInTheAPI are routes of ports/http that the description leaves out on
// purpose: probes for load balancers, not for client generators (no 4xx
// answer exists, which Redocly's recommended rules ask of every operation).
var notInTheAPI = map[string]bool{"GET /healthz": true, "GET /readyz": true}

// builtElsewhere are routes of shared/API.md that the description holds
// before their handlers are merged (other branches build them), described
// from the contract alone. Once one is registered, the test fails until it
// leaves this list: check its description against the handler then.
var builtElsewhere = map[string]bool{}

// Every route ports/http registers is described, and every described
// operation is either registered or known to be on its way.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadDescription(t)
	described := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+path] = true
		}
	}

	s := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	// Register reads none of the handlers' dependencies; a Classroom adds
	// the Google routes.
	(&API{classroom: &command.Classroom{}}).Register(s.Router())
	registered := map[string]bool{}
	err := s.Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil {
			return nil // a subrouter's prefix, not a route
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			registered[m+" "+path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(registered) < 30 {
		t.Fatalf("only %d routes found; the walk missed the API", len(registered))
	}
	for route := range registered {
		if !described[route] && !notInTheAPI[route] {
			t.Errorf("%s is registered but not in openapi.yaml", route)
		}
	}
	for route := range described {
		if !registered[route] && !builtElsewhere[route] {
			t.Errorf("openapi.yaml describes %s, which nothing registers", route)
		}
	}
	for route := range builtElsewhere {
		if registered[route] {
			t.Errorf("%s is registered now: check its description in openapi.yaml against the handler, then take it off builtElsewhere", route)
		}
	}
}

// What a client generator needs: a unique operationId, a summary, a tag
// the description declares, and the error answers (the Error schema, with
// Retry-After on 429).
func TestOpenAPIOperationsAreComplete(t *testing.T) {
	doc := loadDescription(t)
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		tags[tag.Name] = true
	}
	errorSchema := doc.Components.Schemas["Error"]
	if errorSchema == nil {
		t.Fatal("components/schemas/Error is missing")
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" || ids[op.OperationID] != "" {
				t.Errorf("%s: operationId %q is missing or also that of %s", where, op.OperationID, ids[op.OperationID])
			}
			ids[op.OperationID] = where
			if op.Summary == "" || len(op.Tags) != 1 || !tags[op.Tags[0]] {
				t.Errorf("%s: wants a summary and one declared tag (has %q, %v)", where, op.Summary, op.Tags)
			}
			var errorCodes []string
			for code, resp := range op.Responses.Map() {
				if code[0] != '4' && code[0] != '5' {
					continue
				}
				errorCodes = append(errorCodes, code)
				media := resp.Value.Content.Get("application/json")
				if media == nil || media.Schema.Value != errorSchema.Value {
					t.Errorf("%s %s: the answer is not the Error schema", where, code)
				}
				if code == "429" && resp.Value.Headers["Retry-After"] == nil {
					t.Errorf("%s 429: no Retry-After header", where)
				}
			}
			if !slices.ContainsFunc(errorCodes, func(c string) bool { return c[0] == '4' }) {
				t.Errorf("%s: no 4xx answer", where)
			}
		}
	}
}

// redoclyVersion is the @redocly/cli that scripts/api.sh pins.
func redoclyVersion(t *testing.T) string {
	t.Helper()
	script, err := os.ReadFile("../../scripts/api.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^redocly_version=(\S+)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/api.sh pins no redocly_version")
	}
	return string(m[1])
}

// Redocly's recommended rules find nothing, not even a warning. Without
// npx a developer's run skips; CI (CI=true) fails, so the lint cannot be
// left out unnoticed.
func TestOpenAPILintsClean(t *testing.T) {
	npx, err := exec.LookPath("npx")
	if err != nil {
		if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
			t.Fatal("npx is missing, and CI=true requires the OpenAPI lint: install Node.js 20 or later (Debian: apt-get install nodejs npm)")
		}
		t.Skip("npx is missing: the OpenAPI lint is skipped (CI=true would fail here); install Node.js 20 or later to run it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npx, "--yes", "@redocly/cli@"+redoclyVersion(t), "lint", "--extends=recommended", "--format=json", "openapi.yaml")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var report struct {
		Totals struct {
			Errors, Warnings, Ignored *int
		}
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string
			Message  string
			Location []struct {
				Pointer string
			}
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil || report.Totals.Errors == nil || report.Totals.Warnings == nil || report.Totals.Ignored == nil {
		t.Fatalf("redocly lint gave no report (%v, %v):\n%s\n%s", runErr, err, stdout.String(), stderr.String())
	}
	for _, p := range report.Problems {
		at := ""
		if len(p.Location) > 0 {
			at = p.Location[0].Pointer
		}
		t.Errorf("%s %s at %s: %s", p.Severity, p.RuleID, at, p.Message)
	}
	if *report.Totals.Errors+*report.Totals.Warnings+*report.Totals.Ignored > 0 || runErr != nil {
		t.Errorf("redocly lint: %d errors, %d warnings, %d ignored (%v)", *report.Totals.Errors, *report.Totals.Warnings, *report.Totals.Ignored, runErr)
	}
}
