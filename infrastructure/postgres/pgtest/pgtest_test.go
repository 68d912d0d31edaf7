package pgtest

import "testing"

// The tests create and drop databases on AdminURL's server, so it must come
// from TEST_DATABASE_URL alone: DATABASE_URL names the application's
// database, which may be anyone's.
func TestAdminURLNeverComesFromDatabaseURL(t *testing.T) {
	const appDB = "postgres://app@db.example.org:5432/rollcall"
	const testDB = "postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable"
	tests := []struct {
		name, databaseURL, testDatabaseURL, want string
	}{
		{"only DATABASE_URL set", appDB, "", DefaultAdminURL},
		{"both set", appDB, testDB, testDB},
		{"only TEST_DATABASE_URL set", "", testDB, testDB},
		{"neither set", "", "", DefaultAdminURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DATABASE_URL", tt.databaseURL)
			t.Setenv("TEST_DATABASE_URL", tt.testDatabaseURL)
			if got := AdminURL(); got != tt.want {
				t.Fatalf("AdminURL() = %q, want %q", got, tt.want)
			}
		})
	}
}
