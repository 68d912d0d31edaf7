package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// noBrowserPath is a PATH on which there is no chromium: the few programs
// scripts/tools.sh and scripts/test.sh use, Go, and an apt-get that fails
// as it does on a machine that cannot install packages (so nothing is ever
// installed by this test).
func noBrowserPath(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"bash", "env", "grep", "id", "dirname", "mktemp", "rm", "awk", "sort", "sed", "cat"} {
		target, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	fake := "#!" + mustLookPath(t, "bash") + "\necho 'E: Unable to locate package chromium' >&2\nexit 100\n"
	for _, name := range []string{"apt-get", "sudo"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir + string(os.PathListSeparator) + filepath.Dir(mustLookPath(t, "go"))
}

// fakeGOPATH holds a staticcheck of the version scripts/tools.sh wants, so
// the script checks the browser without installing anything first.
func fakeGOPATH(t *testing.T) string {
	t.Helper()
	script, err := os.ReadFile(filepath.Join("..", "scripts", "tools.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^staticcheck_version=v(\S+)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/tools.sh names no staticcheck_version")
	}
	gopath := t.TempDir()
	bin := filepath.Join(gopath, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	fake := "#!" + mustLookPath(t, "bash") + "\necho 'staticcheck (" + string(m[1]) + ")'\n"
	if err := os.WriteFile(filepath.Join(bin, "staticcheck"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	return gopath
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// withoutBrowserSettings is the environment minus whatever says where a
// browser is or whether one is required; each case sets its own.
func withoutBrowserSettings(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "CI", "ROLLCALL_REQUIRE_BROWSER", "ROLLCALL_TEST_CHROMIUM", "ROLLCALL_BROWSER_REPORT", "PATH", "GOPATH":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func runFor(t *testing.T, cmd *exec.Cmd) (exit int, output string) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), out.String()
	}
	t.Fatalf("%s: %v\n%s", cmd, err, out.String())
	return 0, ""
}

// Without a browser, CI fails (scripts/tools.sh, which scripts/test.sh and
// so `make test` and .ci/run call first) with a sentence saying how to
// install one; only a developer's run goes on, warning that the browser
// tests will be skipped.
func TestMissingBrowserFailsCIBeforeAnyTest(t *testing.T) {
	t.Parallel()
	path, gopath := noBrowserPath(t), fakeGOPATH(t)
	tests := []struct {
		name     string
		env      []string
		wantExit int
		want     string
	}{
		{"CI, no chromium and apt-get failing", []string{"CI=true"}, 1,
			"tools.sh: ERROR: apt-get could not install chromium. This run requires the browser tests (CI=true or ROLLCALL_REQUIRE_BROWSER=1). Install Chromium"},
		{"CI, ROLLCALL_TEST_CHROMIUM not a program", []string{"CI=true", "ROLLCALL_TEST_CHROMIUM=/nonexistent"}, 1,
			"tools.sh: ERROR: ROLLCALL_TEST_CHROMIUM=/nonexistent is not an executable file. This run requires the browser tests"},
		{"ROLLCALL_REQUIRE_BROWSER=1 (.ci/run)", []string{"ROLLCALL_REQUIRE_BROWSER=1"}, 1,
			"tools.sh: ERROR: apt-get could not install chromium. This run requires the browser tests"},
		{"a developer's run", nil, 0,
			"tools.sh: WARNING: apt-get could not install chromium: the browser tests (every page of the web wizard) will be SKIPPED."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(filepath.Join("..", "scripts", "tools.sh"), "chromium")
			cmd.Env = withoutBrowserSettings(append(tt.env, "PATH="+path, "GOPATH="+gopath)...)
			exit, out := runFor(t, cmd)
			if exit != tt.wantExit || !strings.Contains(out, tt.want) {
				t.Fatalf("scripts/tools.sh chromium exited %d, want %d, saying %q; it said:\n%s", exit, tt.wantExit, tt.want, out)
			}
		})
	}
}

// A browser test run without a browser fails under CI (and says how to
// install one) and is skipped, loudly and counted, in a developer's run:
// the test binary is run again on one browser test, with no browser.
func TestMissingBrowserFailsTheBrowserTestsUnderCI(t *testing.T) {
	t.Parallel()
	const browserTest = "TestBrowserSignInForcedPasswordChangeAndStartPage"
	tests := []struct {
		name     string
		env      []string
		wantExit int
		want     string
		report   string
	}{
		{"CI", []string{"CI=true"}, 1, "and this run requires the browser tests (CI=true or ROLLCALL_REQUIRE_BROWSER=1). Install Chromium", "fail " + browserTest},
		{"ROLLCALL_REQUIRE_BROWSER=1", []string{"ROLLCALL_REQUIRE_BROWSER=1"}, 1, "and this run requires the browser tests", "fail " + browserTest},
		{"a developer's run", nil, 0, "BROWSER TEST SKIPPED: ROLLCALL_TEST_CHROMIUM=/nonexistent is not an executable file", "skip " + browserTest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			report := filepath.Join(t.TempDir(), "report")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+browserTest+"$", "-test.v", "-test.count=1")
			cmd.Env = withoutBrowserSettings(append(tt.env, "PATH="+os.Getenv("PATH"), "ROLLCALL_TEST_CHROMIUM=/nonexistent",
				"ROLLCALL_BROWSER_REPORT="+report, "ROLLCALL_E2E_BINARY="+binary)...)
			exit, out := runFor(t, cmd)
			if exit != tt.wantExit || !strings.Contains(out, tt.want) {
				t.Fatalf("%s without a browser exited %d, want %d, saying %q; it said:\n%s", browserTest, exit, tt.wantExit, tt.want, out)
			}
			got, err := os.ReadFile(report)
			if err != nil || strings.TrimSpace(string(got)) != tt.report {
				t.Fatalf("browser report %q (%v), want %q", got, err, tt.report)
			}
		})
	}
}
