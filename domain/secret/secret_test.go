package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const plain = "hunter2-Plaintext"
	s := New(plain)
	holder := struct {
		Name     string
		Password Secret
	}{"x", s}

	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("m", "pw", s, "holder", holder)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("m", "pw", s)
	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}

	outputs := map[string]string{"log": logs.String(), "json": string(j)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outputs[verb] = fmt.Sprintf(verb, s) + fmt.Sprintf(verb, holder)
	}
	for name, out := range outputs {
		if strings.Contains(out, plain) || strings.Contains(out, fmt.Sprintf("%x", plain)) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, redacted) {
			t.Errorf("%s does not say [redacted]: %s", name, out)
		}
	}
	if s.Reveal() != plain || !s.Equal(New(plain)) || s.Equal(New("other")) || s.IsZero() || !New("").IsZero() {
		t.Fatal("Reveal/Equal/IsZero are wrong")
	}
}
