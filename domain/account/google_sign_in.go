package account

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/failure"
)

// Sign-in methods, as SignedIn records them.
const (
	SignInPassword = "password"
	SignInGoogle   = "google"
)

// GoogleIdentity is what a verified Google ID token says about the person:
// the signature, issuer, audience, expiry and nonce were checked before it
// is made, so only these claims are left to decide on.
type GoogleIdentity struct {
	Email         string
	EmailVerified bool
	// HostedDomain is the token's hd claim: the Google Workspace domain of
	// the account, empty for a personal Google account.
	HostedDomain string
}

// GoogleSignInPolicy is an organization's say on Sign in with Google.
type GoogleSignInPolicy struct {
	Enabled bool
	// Domains, when not empty, are the only Workspace domains (hd) whose
	// Google accounts may sign in; a personal Google account has none.
	Domains []string
}

// GoogleSignInCandidate is the account whose email equals the Google one,
// as found (Found false: no account has that email), and its
// organization's policy.
type GoogleSignInCandidate struct {
	Found  bool
	Active bool
	Policy GoogleSignInPolicy
}

// DecideGoogleSignIn says whether a verified Google identity may sign in
// to the account found for its email, and if not, why, in a sentence for
// the person. The order matters: an unverified email says nothing about
// who holds the address, so nothing about the account is told; the
// organization's rules come before the account's state, so a Google
// account the organization does not trust learns nothing more.
func DecideGoogleSignIn(id GoogleIdentity, c GoogleSignInCandidate) error {
	switch {
	case !id.EmailVerified:
		return failure.New(failure.Unauthorized, "google_email_unverified",
			"Google says the address %s of this Google account is not verified, so Rollcall cannot tell it is yours. Verify it with Google, or sign in with your email and password.", id.Email)
	case !c.Found:
		return failure.New(failure.Unauthorized, "google_account_unknown",
			"There is no Rollcall account for the Google account %s. Rollcall never creates accounts at sign-in: ask your administrator to create or import yours, or sign in with the Google account whose email is your Rollcall email.", id.Email)
	case !c.Policy.Enabled:
		return failure.New(failure.Forbidden, "google_sign_in_off",
			"Your organization has turned Sign in with Google off. Sign in with your email and password.")
	case len(c.Policy.Domains) > 0 && !slices.Contains(c.Policy.Domains, strings.ToLower(id.HostedDomain)):
		from := "a personal Google account"
		if id.HostedDomain != "" {
			from = "a Google account of " + id.HostedDomain
		}
		return failure.New(failure.Forbidden, "google_domain_not_allowed",
			"Your organization allows Sign in with Google only with accounts of %s, and this is %s. Sign in with your school's Google account, or with your email and password.",
			joinOr(c.Policy.Domains), from)
	case !c.Active:
		return ErrDeactivated()
	}
	return nil
}

// ErrDeactivated is the answer to a deactivated account's sign-in, by any
// method.
func ErrDeactivated() error {
	return failure.New(failure.Unauthorized, "account_deactivated",
		"This account has been deactivated. Ask your administrator to reactivate it (importing it again does).")
}

// PasswordChangeDue says whether a session must choose a new password
// before anything else. Only a password sign-in is held to it: the
// password an import set is the backup of those who sign in with Google,
// who still must change it the first time they use it.
func PasswordChangeDue(mustChangePassword bool, method string) bool {
	return mustChangePassword && method != SignInGoogle
}

// maxGoogleDomains bounds the list an organization keeps.
const maxGoogleDomains = 50

// ParseGoogleDomains checks an organization's list of Workspace domains:
// each a host name such as lincoln.edu (lower-cased, duplicates dropped).
func ParseGoogleDomains(in []string) ([]string, error) {
	out := []string{}
	for _, raw := range in {
		d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), ".")
		if !isDomain(d) {
			return nil, failure.New(failure.Unprocessable, "invalid_value",
				"%q is not a domain. Give the Google Workspace domains as host names, such as lincoln.edu (no @, no https://).", raw)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(out) > maxGoogleDomains {
		return nil, failure.New(failure.Unprocessable, "invalid_value", "Give at most %d Google Workspace domains.", maxGoogleDomains)
	}
	return out, nil
}

// isDomain: two or more labels of letters, digits and inner hyphens, at
// most 253 characters (RFC 1035, as Google Workspace domains are).
func isDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(d) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}

func joinOr(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return fmt.Sprintf("%s or %s", strings.Join(items[:len(items)-1], ", "), items[len(items)-1])
}

// SignedIn: the person signed in (Method: "password" or "google"). It
// changes nothing of the account; it is the audit of who came in, how, and
// is kept on the account's sign-in stream (SignInStreamID).
type SignedIn struct {
	AccountID uuid.UUID
	Method    string
	At        time.Time
}

func (SignedIn) EventType() string { return "SignedIn" }
