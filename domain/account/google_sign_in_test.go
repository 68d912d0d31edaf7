package account

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rollcall/rollcall/domain/failure"
)

// Given a verified-or-not Google identity and the account found for its
// email, when deciding, then a sign-in or one refusal with its own code.
func TestDecideGoogleSignIn(t *testing.T) {
	open := GoogleSignInPolicy{Enabled: true}
	lincolnOnly := GoogleSignInPolicy{Enabled: true, Domains: []string{"lincoln.edu", "staff.lincoln.edu"}}
	active := GoogleSignInCandidate{Found: true, Active: true, Policy: open}
	verified := GoogleIdentity{Email: "ana@lincoln.edu", EmailVerified: true, HostedDomain: "lincoln.edu"}
	personal := GoogleIdentity{Email: "ana@gmail.com", EmailVerified: true}
	tests := []struct {
		name      string
		id        GoogleIdentity
		candidate GoogleSignInCandidate
		code      string // "" = signed in
		says      string
	}{
		{"verified email of an active account", verified, active, "", ""},
		{"personal Google account, no domain rule", personal, active, "", ""},
		{"unverified email", GoogleIdentity{Email: "ana@lincoln.edu"}, active, "google_email_unverified", "not verified"},
		{"unverified email of no account says nothing of accounts", GoogleIdentity{Email: "x@y.org"}, GoogleSignInCandidate{}, "google_email_unverified", "not verified"},
		{"no account has the email", verified, GoogleSignInCandidate{}, "google_account_unknown", "ask your administrator"},
		{"organization turned it off", verified, GoogleSignInCandidate{Found: true, Active: true}, "google_sign_in_off", "turned Sign in with Google off"},
		{"allowed Workspace domain", verified, GoogleSignInCandidate{Found: true, Active: true, Policy: lincolnOnly}, "", ""},
		{"allowed domain in another case", GoogleIdentity{Email: "ana@lincoln.edu", EmailVerified: true, HostedDomain: "Staff.Lincoln.EDU"},
			GoogleSignInCandidate{Found: true, Active: true, Policy: lincolnOnly}, "", ""},
		{"another Workspace domain", GoogleIdentity{Email: "ana@lincoln.edu", EmailVerified: true, HostedDomain: "other.org"},
			GoogleSignInCandidate{Found: true, Active: true, Policy: lincolnOnly}, "google_domain_not_allowed", "lincoln.edu or staff.lincoln.edu, and this is a Google account of other.org"},
		{"personal account where domains are required", personal, GoogleSignInCandidate{Found: true, Active: true, Policy: lincolnOnly},
			"google_domain_not_allowed", "this is a personal Google account"},
		{"deactivated account", verified, GoogleSignInCandidate{Found: true, Policy: open}, "account_deactivated", "deactivated"},
		{"deactivated account of an organization with it off hears it is off", verified, GoogleSignInCandidate{Found: true}, "google_sign_in_off", "off"},
		{"deactivated account, domain not allowed, hears of the domain", personal, GoogleSignInCandidate{Found: true, Policy: lincolnOnly},
			"google_domain_not_allowed", "personal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DecideGoogleSignIn(tt.id, tt.candidate)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			f, ok := failure.As(err)
			if !ok || f.Code != tt.code {
				t.Fatalf("got %v, want code %s", err, tt.code)
			}
			if !strings.Contains(f.Message, tt.says) {
				t.Errorf("message %q does not say %q", f.Message, tt.says)
			}
		})
	}
}

func TestParseGoogleDomains(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
		bad  string
	}{
		{in: nil, want: []string{}},
		{in: []string{" Lincoln.EDU ", "lincoln.edu.", "staff.lincoln.edu"}, want: []string{"lincoln.edu", "staff.lincoln.edu"}},
		{in: []string{"xn--bcher-kva.example"}, want: []string{"xn--bcher-kva.example"}},
		{in: []string{"lincoln"}, bad: `"lincoln"`},
		{in: []string{"@lincoln.edu"}, bad: "not a domain"},
		{in: []string{"https://lincoln.edu"}, bad: "not a domain"},
		{in: []string{"-a.edu"}, bad: "not a domain"},
		{in: []string{"a..edu"}, bad: "not a domain"},
		{in: []string{""}, bad: "not a domain"},
		{in: []string{strings.Repeat("a", 64) + ".edu"}, bad: "not a domain"},
	}
	for _, tt := range tests {
		got, err := ParseGoogleDomains(tt.in)
		if tt.bad != "" {
			if f, ok := failure.As(err); !ok || f.Code != "invalid_value" || !strings.Contains(f.Message, tt.bad) {
				t.Errorf("%q: got %v, want a refusal saying %s", tt.in, err, tt.bad)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %q %v, want %q", tt.in, got, err, tt.want)
		}
	}
	many := make([]string, maxGoogleDomains+1)
	for i := range many {
		many[i] = strings.Repeat("a", i+1) + ".edu"
	}
	if _, err := ParseGoogleDomains(many); err == nil {
		t.Errorf("%d domains were accepted", len(many))
	}
}

func TestPasswordChangeDueOnlyForPasswordSessions(t *testing.T) {
	for _, tt := range []struct {
		must   bool
		method string
		want   bool
	}{{true, SignInPassword, true}, {true, SignInGoogle, false}, {false, SignInPassword, false}, {true, "", true}} {
		if got := PasswordChangeDue(tt.must, tt.method); got != tt.want {
			t.Errorf("PasswordChangeDue(%v, %q) = %v", tt.must, tt.method, got)
		}
	}
}
