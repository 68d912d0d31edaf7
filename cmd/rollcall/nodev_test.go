//go:build !dev

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// DEV_MODE on the production build stops every command with the reason,
// before it opens the database.
func TestProductionBuildRefusesDevMode(t *testing.T) {
	tests := []struct {
		devMode string
		want    string // "" = accepted
	}{
		{"true", "production build, which has no development mode"},
		{"yes", `DEV_MODE="yes": say true or false`},
		{"false", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run("DEV_MODE="+tt.devMode, func(t *testing.T) {
			t.Setenv("DEV_MODE", tt.devMode)
			_, err := configFromEnv()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("configFromEnv: %v, want an error saying %q", err, tt.want)
			}
			// And through the command line, before any database is touched.
			t.Setenv("DATABASE_URL", "postgres://nobody@192.0.2.1:1/none?connect_timeout=1")
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), []string{"serve"}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("rollcall serve: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
