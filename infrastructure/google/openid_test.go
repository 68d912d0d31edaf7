package google_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/infrastructure/google"
	"github.com/rollcall/rollcall/infrastructure/google/googletest"
)

// signInCode goes to the fake's sign-in page as a browser would and
// returns the code it sends back.
func signInCode(t *testing.T, o *google.OpenID, state, nonce, verifier string) string {
	t.Helper()
	to, err := o.AuthURL(context.Background(), state, nonce, verifier)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	if q := u.Query(); q.Get("nonce") != nonce || q.Get("code_challenge_method") != "S256" || q.Get("scope") != "openid email profile" {
		t.Fatalf("sign-in URL: %s", to)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if back.Query().Get("state") != state {
		t.Fatalf("back: %s", back)
	}
	return back.Query().Get("code")
}

// The ID token is verified by go-oidc against the fake issuer's published
// key: what Google may say is read, what a forger or a replay says is
// refused as ErrGoogleTokenRefused.
func TestOpenIDVerifiesTheIDToken(t *testing.T) {
	fake := googletest.Start(t, googletest.Options{ClientID: "client", ClientSecret: "secret",
		User: googletest.Person{ID: "s1", Email: "Ana@Lincoln.edu", Given: "Ana", Family: "Lima"}})
	o := google.NewOpenID(google.OpenIDConfig{ClientID: "client", ClientSecret: "secret", IssuerURL: fake.IssuerURL(),
		RedirectURL: "http://rollcall.test/sign-in/google/callback"})
	tests := []struct {
		name      string
		tokens    googletest.IDTokenOptions
		useNonce  string // the nonce Rollcall expects ("" = the one it sent)
		want      account.GoogleIdentity
		refused   bool
		wrongCode bool
	}{
		{name: "verified Workspace account", tokens: googletest.IDTokenOptions{HostedDomain: "lincoln.edu"},
			want: account.GoogleIdentity{Email: "Ana@Lincoln.edu", EmailVerified: true, HostedDomain: "lincoln.edu"}},
		{name: "unverified email is read as unverified", tokens: googletest.IDTokenOptions{EmailUnverified: true},
			want: account.GoogleIdentity{Email: "Ana@Lincoln.edu"}},
		{name: "expired", tokens: googletest.IDTokenOptions{Expired: true}, refused: true},
		{name: "signed by another key", tokens: googletest.IDTokenOptions{ForeignKey: true}, refused: true},
		{name: "for another audience", tokens: googletest.IDTokenOptions{Audience: "another-client"}, refused: true},
		{name: "another sign-in's nonce", tokens: googletest.IDTokenOptions{Nonce: "replayed"}, refused: true},
		{name: "a code Google does not know", wrongCode: true, refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.SetIDTokens(tt.tokens)
			verifier := o.NewVerifier()
			code := signInCode(t, o, "state-1", "nonce-1", verifier)
			if tt.wrongCode {
				code = "not-a-code"
			}
			got, err := o.Identity(context.Background(), code, verifier, "nonce-1")
			if tt.refused {
				if !errors.Is(err, command.ErrGoogleTokenRefused) {
					t.Fatalf("got %+v, %v; want a refusal", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// An issuer out of reach is not a refused token: the person is told to
// try again later, and the next sign-in discovers again.
func TestOpenIDIssuerOutOfReach(t *testing.T) {
	o := google.NewOpenID(google.OpenIDConfig{ClientID: "client", IssuerURL: "http://127.0.0.1:1"})
	if _, err := o.AuthURL(context.Background(), "s", "n", "v"); err == nil || errors.Is(err, command.ErrGoogleTokenRefused) {
		t.Fatalf("AuthURL: %v", err)
	}
}
