package googletest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// IDTokenOptions shape the ID tokens the fake issues, so that a test can
// make Google say each thing Rollcall must refuse.
type IDTokenOptions struct {
	// EmailUnverified sends email_verified: false.
	EmailUnverified bool
	// HostedDomain is the hd claim: the user's Google Workspace domain
	// ("" = a personal Google account, no hd).
	HostedDomain string
	// Audience is the aud claim ("" = the client id).
	Audience string
	// Expired issues tokens that expired an hour ago.
	Expired bool
	// ForeignKey signs with a key the fake does not publish, under the
	// published key's id: a forged token.
	ForeignKey bool
	// Nonce replaces the nonce of the sign-in request ("" = echo it).
	Nonce string
}

// SetIDTokens changes the ID tokens issued from now on.
func (s *Server) SetIDTokens(o IDTokenOptions) { s.mu.Lock(); s.opts.IDTokens = o; s.mu.Unlock() }

// IssuerURL is the configuration (GOOGLE_ISSUER_URL) that points Sign in
// with Google here: discovery, keys, sign-in page and token endpoint.
func (s *Server) IssuerURL() string { return s.URL }

const keyID = "fake-google-1"

// signingKeys are the published key and the forger's.
type signingKeys struct {
	published, foreign *rsa.PrivateKey
}

func newSigningKeys() *signingKeys {
	gen := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("googletest: " + err.Error())
		}
		return k
	}
	return &signingKeys{published: gen(), foreign: gen()}
}

func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": s.URL, "authorization_endpoint": s.AuthURL(), "token_endpoint": s.TokenURL(),
		"jwks_uri": s.URL + "/oauth2/v3/certs", "response_types_supported": []string{"code"},
		"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported": []string{"openid", "email", "profile"}, "code_challenge_methods_supported": []string{"S256"},
	})
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.keys.published.PublicKey, KeyID: keyID, Algorithm: "RS256", Use: "sig"}}}
	writeJSON(w, http.StatusOK, set)
}

// idToken signs an ID token for the grant's user, as Google shapes it.
// The caller holds s.mu.
func (s *Server) idToken(g grant) (string, error) {
	o := s.opts.IDTokens
	now := time.Now()
	if o.Expired {
		now = now.Add(-2 * time.Hour)
	}
	aud := s.opts.ClientID
	if o.Audience != "" {
		aud = o.Audience
	}
	nonce := g.nonce
	if o.Nonce != "" {
		nonce = o.Nonce
	}
	claims := map[string]any{
		"iss": s.URL, "aud": aud, "azp": aud, "sub": g.user.ID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": g.user.Email, "email_verified": !o.EmailUnverified, "nonce": nonce,
		"given_name": g.user.Given, "family_name": g.user.Family,
	}
	if o.HostedDomain != "" {
		claims["hd"] = o.HostedDomain
	}
	key := s.keys.published
	if o.ForeignKey {
		key = s.keys.foreign
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return signed.CompactSerialize()
}
