package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

func TestServeMigrateAndProjectionCommands(t *testing.T) {
	t.Parallel()
	env := []string{"DATABASE_URL=" + pgtest.NewDatabase(t)}

	_, stderr := rollcall(t, env, "migrate")
	if !strings.Contains(stderr, "database is up to date") {
		t.Fatalf("migrate said: %s", stderr)
	}

	srv := startServer(t, env)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v %v", path, resp.StatusCode, body, err)
		}
	}

	status, _ := rollcall(t, env, "projections", "status")
	if !strings.Contains(status, "proj.audit_trail.v1") || !strings.Contains(status, "PENDING EVENTS") {
		t.Fatalf("projections status printed:\n%s", status)
	}
	out, _ := rollcall(t, env, "projections", "rebuild", "all")
	if !strings.Contains(out, "rebuilt audit_trail") {
		t.Fatalf("rebuild printed: %s", out)
	}

	srv.stop(t)
	if !strings.Contains(srv.stderr.String(), "shutting down") {
		t.Fatalf("no graceful shutdown in the log:\n%s", srv.stderr.String())
	}
}
