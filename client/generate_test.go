package client_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The committed client is exactly what oapi-codegen makes of the committed
// description today, and it compiles: the description serves a client
// generator, and nobody edited the generated code by hand.
func TestClientIsGenerated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	committedConfig, err := os.ReadFile("oapi-codegen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The same configuration, writing elsewhere.
	const output = "output: client.gen.go\n"
	if !bytes.Contains(committedConfig, []byte(output)) {
		t.Fatalf("oapi-codegen.yaml has no line %q", output)
	}
	config := writeFile(t, filepath.Join(dir, "oapi-codegen.yaml"),
		bytes.Replace(committedConfig, []byte(output), []byte("output: "+filepath.Join(dir, "client.gen.go")+"\n"), 1))
	spec, err := filepath.Abs("../ports/http/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	run(ctx, t, "go", "tool", "oapi-codegen", "-config", config, spec)

	generated, err := os.ReadFile(filepath.Join(dir, "client.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(generated, committed) {
		t.Fatal("client/client.gen.go is not what oapi-codegen makes of ports/http/openapi.yaml: run `go generate ./client` (or `make api`) and commit the result")
	}
	// Equal to what was generated, the committed package stands for it.
	run(ctx, t, "go", "vet", ".")
}

// writeFile writes a file and returns its path.
func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(ctx context.Context, t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
