//go:build dev

package main

import (
	"strings"
	"testing"
)

// Development mode listens on loopback only: its /dev/mail page and demo
// administrator must not be reachable from another machine.
func TestDevModeListensOnLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr     string // "" = ADDR unset
		wantAddr string
		refused  bool
	}{
		{"", devAddr, false},
		{"127.0.0.1:9000", "127.0.0.1:9000", false},
		{"[::1]:9000", "[::1]:9000", false},
		{"localhost:9000", "localhost:9000", false},
		{":8080", "", true},
		{"0.0.0.0:8080", "", true},
		{"192.0.2.10:8080", "", true},
		{"example.org:8080", "", true},
	}
	for _, tt := range tests {
		t.Run("ADDR="+tt.addr, func(t *testing.T) {
			t.Setenv("DEV_MODE", "true")
			t.Setenv("ADDR", tt.addr)
			c, err := configFromEnv()
			if tt.refused {
				if err == nil || !strings.Contains(err.Error(), "loopback") {
					t.Fatalf("ADDR=%q accepted in development mode (%v)", tt.addr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.DevMode || c.Addr != tt.wantAddr {
				t.Fatalf("dev mode %v on %q, want on %q", c.DevMode, c.Addr, tt.wantAddr)
			}
		})
	}
}
