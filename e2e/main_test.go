// Package e2e tests the built rollcall binary from the outside, as an
// operator runs it: real processes, real PostgreSQL, real signals.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binary string

// testKey encrypts the test servers' uploads.
const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func TestMain(m *testing.M) {
	// A test that runs this test binary again hands it the binary it built.
	if built := os.Getenv("ROLLCALL_E2E_BINARY"); built != "" {
		binary = built
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "rollcall-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "rollcall")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/rollcall")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build rollcall:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// rollcall runs one command to completion and returns its output.
func rollcall(t *testing.T, env []string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("rollcall %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// server is a running `rollcall serve`.
type server struct {
	cmd    *exec.Cmd
	URL    string
	stderr *syncBuffer
	done   chan error
}

func startServer(t *testing.T, env []string) *server {
	t.Helper()
	return startBinary(t, binary, append([]string{"ARGON2_MEMORY_KIB=8192", "ARGON2_ITERATIONS=1"}, env...))
}

// startBinary starts `path serve` with env (later entries win) on a free
// address and waits until it is ready; the test's end kills it.
func startBinary(t *testing.T, path string, env []string) *server {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(path, "serve")
	// A browser test that waits for a page that never comes says little by
	// itself: its server logs every request (LOG_LEVEL=debug), shown with
	// the page the browser was on when it fails. The other tests name the
	// request that failed, and skip the cost (about a tenth of their time).
	level := "LOG_LEVEL=info"
	if strings.HasPrefix(t.Name(), "TestBrowser") {
		level = "LOG_LEVEL=debug"
	}
	cmd.Env = append(os.Environ(), append([]string{"ROLLCALL_SECRET_KEY=" + testKey, "UPLOAD_DIR=" + t.TempDir(), level},
		append(env, "ADDR="+addr, "POLL_INTERVAL=50ms")...)...)
	s := &server{cmd: cmd, URL: "http://" + addr, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.stderr.String())
		}
	})
	waitUntil(t, "the server to be ready", 30*time.Second, func() bool {
		resp, err := http.Get(s.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM\n%s", err, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of SIGTERM")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
