package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
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

// TestBadDatabaseSettings: each way DATABASE_URL can be wrong ends the
// command with one line that says what is wrong and what to do, a non-zero
// exit code, and no stack trace.
func TestBadDatabaseSettings(t *testing.T) {
	t.Parallel()
	unmigrated := pgtest.NewEmptyDatabase(t)
	cases := []struct {
		name, url, command string
		want               []string
	}{
		{"malformed", "not a url", "migrate", []string{"DATABASE_URL is not a valid PostgreSQL URL", "postgres://USER:PASSWORD@HOST:5432/DATABASE"}},
		{"unreachable", "postgres://postgres@" + freeAddr(t) + "/rollcall?sslmode=disable&connect_timeout=5", "serve", []string{"no PostgreSQL answers at 127.0.0.1:", "start it"}},
		{"no such database", strings.Replace(unmigrated, "dbname=", "dbname=missing_", 1), "migrate", []string{"has no database \"missing_", "createdb"}},
		{"not migrated", unmigrated, "projections", []string{"the database is not migrated", "run `rollcall migrate` first"}},
		{"not migrated, audit", unmigrated, "audit", []string{"the database is not migrated"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{c.command}
			switch c.command {
			case "projections":
				args = append(args, "status")
			case "audit":
				args = append(args, "account", "someone@example.org")
			}
			cmd := exec.Command(binary, args...)
			cmd.Env = append(os.Environ(), "DATABASE_URL="+c.url, "ROLLCALL_SECRET_KEY="+testKey, "ADDR="+freeAddr(t))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("rollcall %s: %v, want a non-zero exit\n%s", c.command, err, stderr.String())
			}
			out := strings.TrimSpace(stderr.String())
			if lines := strings.Split(out, "\n"); !strings.HasPrefix(lines[len(lines)-1], "rollcall: ") || strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
				t.Fatalf("want one closing line \"rollcall: …\" and no stack trace, got:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Fatalf("stderr lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
