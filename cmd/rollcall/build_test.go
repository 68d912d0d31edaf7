package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The production binary carries no test code and no fakes: development
// mode lives behind the dev build tag (dev.go), so nothing in an
// environment variable can turn a fake Google, a mail catcher or the demo
// administrator on in production.
func TestProductionBuildHasNoTestCodeOrFakes(t *testing.T) {
	t.Parallel()
	list := exec.Command("go", "list", "-deps", ".")
	// GOFLAGS could carry -tags=dev from the developer's shell; the
	// production build is the one without tags.
	list.Env = append(os.Environ(), "GOFLAGS=")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/rollcall/rollcall/cmd/rollcall") {
		t.Fatalf("go list -deps did not list the command itself:\n%s", out)
	}
	for _, banned := range []string{
		"testing",
		"net/http/httptest",
		"github.com/rollcall/rollcall/infrastructure/google/googletest",
		"github.com/rollcall/rollcall/infrastructure/mail/mailtest",
	} {
		if slices.Contains(deps, banned) {
			t.Errorf("the production build of cmd/rollcall depends on %s; development fakes belong behind the dev build tag", banned)
		}
	}
}
