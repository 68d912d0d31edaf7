package google

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/account"
)

// GoogleIssuer is Google's OpenID Connect issuer.
const GoogleIssuer = "https://accounts.google.com"

// OpenIDConfig points Sign in with Google at an issuer: Google's, or a
// fake serving the same discovery document and keys.
type OpenIDConfig struct {
	ClientID, ClientSecret string
	IssuerURL              string // default GoogleIssuer
	RedirectURL            string
}

// OpenID is Sign in with Google: OpenID Connect's authorization-code flow
// with PKCE and a nonce, the ID token verified by go-oidc against the keys
// the issuer publishes. Discovery happens at the first sign-in, not at
// start-up, so Rollcall starts while Google is out of reach; a failed
// discovery is tried again at the next sign-in.
type OpenID struct {
	cfg    OpenIDConfig
	client *http.Client

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

var _ command.OpenID = (*OpenID)(nil)

// NewOpenID fills in Google's issuer when the config has none.
func NewOpenID(cfg OpenIDConfig) *OpenID {
	if cfg.IssuerURL == "" {
		cfg.IssuerURL = GoogleIssuer
	}
	return &OpenID{cfg: cfg, client: &http.Client{Timeout: 15 * time.Second}}
}

// discover reads the issuer's discovery document once it answers.
func (o *OpenID) discover() (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.oauth != nil {
		return o.oauth, o.verifier, nil
	}
	// The provider keeps this context for fetching keys later, so it is
	// not a request's: a request's end would cancel every later fetch.
	ctx := oidc.ClientContext(context.Background(), o.client)
	provider, err := oidc.NewProvider(ctx, o.cfg.IssuerURL)
	if err != nil {
		return nil, nil, fmt.Errorf("google: OpenID Connect discovery at %s: %w", o.cfg.IssuerURL, err)
	}
	o.oauth = &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	// go-oidc checks the signature (RS256 by default, keys from the
	// issuer's JWKS), the issuer, the audience (our client id) and expiry.
	o.verifier = provider.Verifier(&oidc.Config{ClientID: o.cfg.ClientID})
	return o.oauth, o.verifier, nil
}

// NewVerifier makes a PKCE code verifier.
func (o *OpenID) NewVerifier() string { return oauth2.GenerateVerifier() }

// AuthURL is the issuer's sign-in page. select_account lets a person with
// several Google accounts pick the school one.
func (o *OpenID) AuthURL(_ context.Context, state, nonce, verifier string) (string, error) {
	cfg, _, err := o.discover()
	if err != nil {
		return "", err
	}
	return cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("prompt", "select_account")), nil
}

// Identity exchanges the code and verifies the ID token it brings.
func (o *OpenID) Identity(ctx context.Context, code, verifier, nonce string) (account.GoogleIdentity, error) {
	cfg, idVerifier, err := o.discover()
	if err != nil {
		return account.GoogleIdentity{}, err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, o.client)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return account.GoogleIdentity{}, fmt.Errorf("%w: the code was refused (%s)", command.ErrGoogleTokenRefused, re.ErrorCode)
		}
		return account.GoogleIdentity{}, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return account.GoogleIdentity{}, fmt.Errorf("%w: no ID token came with the access token", command.ErrGoogleTokenRefused)
	}
	idToken, err := idVerifier.Verify(oidc.ClientContext(ctx, o.client), raw)
	if err != nil {
		return account.GoogleIdentity{}, fmt.Errorf("%w: %v", command.ErrGoogleTokenRefused, err)
	}
	// go-oidc leaves the nonce to the caller: it binds the token to the
	// sign-in this browser started, so a token from another is refused.
	if idToken.Nonce == "" || idToken.Nonce != nonce {
		return account.GoogleIdentity{}, fmt.Errorf("%w: the ID token's nonce is not this sign-in's", command.ErrGoogleTokenRefused)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		HostedDomain  string `json:"hd"`
	}
	if err := idToken.Claims(&claims); err != nil {
		return account.GoogleIdentity{}, fmt.Errorf("%w: %v", command.ErrGoogleTokenRefused, err)
	}
	if claims.Email == "" {
		return account.GoogleIdentity{}, fmt.Errorf("%w: the ID token has no email (the email scope was not granted)", command.ErrGoogleTokenRefused)
	}
	return account.GoogleIdentity{Email: claims.Email, EmailVerified: isTrue(claims.EmailVerified), HostedDomain: claims.HostedDomain}, nil
}

// isTrue reads email_verified, which Google has sent both as a boolean and
// as the string "true".
func isTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}
