// Package auth tells who calls avo's HTTP API and what they may do. A
// caller shows a bearer token: a JWT from one of the configured OpenID
// Connect issuers, checked through the issuer's discovery document and
// key set (go-oidc; keys are fetched again when a token names a key the
// cache lacks, so a provider's key rotation needs no restart), or, for
// local use, a token from a static list. Roles come from a claim, mapped
// to avo's four roles, or from a file that names users.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// avo's roles. An editor may also do what a teacher may; an operator
// runs harvests and indices and reads what a teacher reads.
const (
	Pupil    = "pupil"
	Teacher  = "teacher"
	Editor   = "editor"
	Operator = "operator"
)

// Roles lists the roles in the order the documentation gives them.
var Roles = []string{Pupil, Teacher, Editor, Operator}

// algorithms are the signatures accepted: asymmetric only, so a key set's
// public key can never serve as an HMAC secret, and never "none".
var algorithms = []string{oidc.RS256, oidc.ES256}

// User is a verified caller.
type User struct {
	// ID is stable per person: the issuer's user claim.
	ID     string   `json:"id"`
	Name   string   `json:"name,omitempty"`
	Email  string   `json:"email,omitempty"`
	Issuer string   `json:"issuer"`
	Roles  []string `json:"roles"`
}

// Is reports whether the user holds role, or one that includes it.
func (u *User) Is(role string) bool {
	if u == nil {
		return false
	}
	for _, r := range u.Roles {
		if r == role || r == Editor && role == Teacher || r == Operator && role == Teacher {
			return true
		}
	}
	return false
}

// Issuer is one identity provider whose tokens are accepted.
type Issuer struct {
	// URL is the issuer as tokens name it (discovery is URL/.well-known/openid-configuration).
	URL string `yaml:"url" json:"url"`
	// Audience the token must be for (its aud claim): avo's client id.
	Audience string `yaml:"audience" json:"audience"`
	// UserClaims name the claims that hold the user's id, the first
	// present wins (default sub, then ov_account_uuid: LeerID's pupils'
	// tokens may lack sub).
	UserClaims []string `yaml:"user_claims" json:"user_claims"`
	// RolesClaim is the claim that holds the caller's roles, a dotted path
	// for nested claims (realm_access.roles); a string or a list.
	RolesClaim string `yaml:"roles_claim" json:"roles_claim"`
	// RoleMap turns the provider's role names into avo's (leerling: pupil);
	// without it the values must be avo's role names.
	RoleMap map[string]string `yaml:"role_map" json:"role_map"`
	// PageClient is the public client the search page signs in with (the
	// code flow with PKCE); empty: the audience. The page uses the first
	// issuer.
	PageClient string `yaml:"page_client" json:"page_client"`
}

// StaticToken is a fixed token for local use (avo dev, scripts on the
// cluster); never for people.
type StaticToken struct {
	Token string   `yaml:"token" json:"-"`
	User  string   `yaml:"user" json:"user"`
	Name  string   `yaml:"name" json:"name"`
	Roles []string `yaml:"roles" json:"roles"`
}

// Config is the access configuration of `avo serve`.
type Config struct {
	Issuers []Issuer `yaml:"issuers" json:"issuers"`
	// Users gives roles by user id (issuer URL + " " + id, or the id alone),
	// added to those of the roles claim.
	Users map[string][]string `yaml:"users" json:"users"`
	// Static tokens, for local use.
	Static []StaticToken `yaml:"static_tokens" json:"static_tokens"`
	// Leeway is the clock skew allowed on exp and nbf (default 60 s).
	Leeway time.Duration `yaml:"leeway" json:"leeway"`
}

// Enabled reports whether any token can be accepted.
func (c Config) Enabled() bool { return len(c.Issuers) > 0 || len(c.Static) > 0 }

// Check validates the configuration.
func (c Config) Check() error {
	for i, is := range c.Issuers {
		switch {
		case is.URL == "":
			return fmt.Errorf("auth.issuers[%d]: url missing", i)
		case is.Audience == "":
			return fmt.Errorf("auth.issuers[%d] (%s): audience missing: tokens for any client would pass", i, is.URL)
		}
		for from, to := range is.RoleMap {
			if !slices.Contains(Roles, to) {
				return fmt.Errorf("auth.issuers[%d] (%s): role_map %s: %q is not one of %s", i, is.URL, from, to, strings.Join(Roles, ", "))
			}
		}
	}
	for user, roles := range c.Users {
		for _, r := range roles {
			if !slices.Contains(Roles, r) {
				return fmt.Errorf("auth.users %s: %q is not one of %s", user, r, strings.Join(Roles, ", "))
			}
		}
	}
	for i, t := range c.Static {
		if len(t.Token) < 16 {
			return fmt.Errorf("auth.static_tokens[%d] (%s): a token needs at least 16 characters", i, t.User)
		}
		if t.User == "" {
			return fmt.Errorf("auth.static_tokens[%d]: user missing", i)
		}
		for _, r := range t.Roles {
			if !slices.Contains(Roles, r) {
				return fmt.Errorf("auth.static_tokens[%d] (%s): %q is not one of %s", i, t.User, r, strings.Join(Roles, ", "))
			}
		}
	}
	return nil
}

// Error is a refused token; Reason goes to the caller in WWW-Authenticate.
type Error struct {
	Reason string
	// Missing: no token at all (no error code in the challenge, RFC 6750 §3.1).
	Missing bool
}

func (e *Error) Error() string { return e.Reason }

// Challenge is the WWW-Authenticate value for e.
func (e *Error) Challenge() string {
	if e.Missing {
		return `Bearer realm="avo"`
	}
	return fmt.Sprintf(`Bearer realm="avo", error="invalid_token", error_description=%q`, e.Reason)
}

func refuse(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// Authenticator checks bearer tokens.
type Authenticator struct {
	cfg Config
	// now is the clock (tests move it).
	now func() time.Time

	mu        sync.Mutex
	verifiers map[string]*oidc.IDTokenVerifier
	client    *http.Client
}

// New returns an authenticator for cfg. Issuers are discovered on first
// use, so that avo serve starts while a provider is down.
func New(cfg Config) (*Authenticator, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = time.Minute
	}
	return &Authenticator{cfg: cfg, now: time.Now, verifiers: map[string]*oidc.IDTokenVerifier{},
		client: &http.Client{Timeout: 10 * time.Second}}, nil
}

// Enabled reports whether any token can be accepted.
func (a *Authenticator) Enabled() bool { return a != nil && a.cfg.Enabled() }

// FromRequest returns the caller of r: nil and no error without a token.
func (a *Authenticator) FromRequest(r *http.Request) (*User, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, refuse("the Authorization header must be \"Bearer TOKEN\"")
	}
	return a.Verify(r.Context(), strings.TrimSpace(token))
}

// Verify checks a token and returns its user.
func (a *Authenticator) Verify(ctx context.Context, token string) (*User, error) {
	if a == nil || !a.cfg.Enabled() {
		return nil, refuse("this server accepts no tokens")
	}
	for _, st := range a.cfg.Static {
		if constantTimeEqual(st.Token, token) {
			return &User{ID: st.User, Name: st.Name, Issuer: "static", Roles: slices.Clone(st.Roles)}, nil
		}
	}
	if len(a.cfg.Issuers) == 0 {
		return nil, refuse("unknown token")
	}
	// The issuer is read before the signature is checked only to choose
	// whose keys check it.
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return nil, refuse("not a JWT signed with RS256 or ES256: %v", err)
	}
	var unverified struct {
		Issuer    string           `json:"iss"`
		NotBefore *jwt.NumericDate `json:"nbf"`
	}
	if err := parsed.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, refuse("unreadable claims: %v", err)
	}
	var is *Issuer
	for i := range a.cfg.Issuers {
		if a.cfg.Issuers[i].URL == unverified.Issuer {
			is = &a.cfg.Issuers[i]
		}
	}
	if is == nil {
		return nil, refuse("issuer %q is not trusted", unverified.Issuer)
	}
	v, err := a.verifier(ctx, is)
	if err != nil {
		return nil, err
	}
	idt, err := v.Verify(ctx, token)
	if err != nil {
		var exp *oidc.TokenExpiredError
		if errors.As(err, &exp) {
			return nil, refuse("token expired at %s", exp.Expiry.UTC().Format(time.RFC3339))
		}
		if unverified.NotBefore != nil && strings.Contains(err.Error(), "nbf") {
			return nil, refuse("token not valid before %s", unverified.NotBefore.Time().UTC().Format(time.RFC3339))
		}
		return nil, refuse("%s", strings.TrimPrefix(err.Error(), "oidc: "))
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, refuse("unreadable claims: %v", err)
	}
	// go-oidc allows five minutes on nbf; avo allows its leeway.
	if nbf, ok := claims["nbf"].(float64); ok {
		if t := time.Unix(int64(nbf), 0); a.now().Add(a.cfg.Leeway).Before(t) {
			return nil, refuse("token not valid before %s", t.UTC().Format(time.RFC3339))
		}
	}
	return a.user(is, claims)
}

// verifier returns the issuer's verifier, discovering it on first use.
func (a *Authenticator) verifier(ctx context.Context, is *Issuer) (*oidc.IDTokenVerifier, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if v, ok := a.verifiers[is.URL]; ok {
		return v, nil
	}
	// The key set outlives the request that discovered it.
	dctx := oidc.ClientContext(context.WithoutCancel(ctx), a.client)
	p, err := oidc.NewProvider(dctx, is.URL)
	if err != nil {
		return nil, fmt.Errorf("issuer %s: discovery: %w", is.URL, err)
	}
	v := p.VerifierContext(dctx, &oidc.Config{
		ClientID:             is.Audience,
		SupportedSigningAlgs: algorithms,
		// Expiry is checked against a clock set back by the leeway.
		Now: func() time.Time { return a.now().Add(-a.cfg.Leeway) },
	})
	a.verifiers[is.URL] = v
	return v, nil
}

// user builds the caller from verified claims.
func (a *Authenticator) user(is *Issuer, claims map[string]any) (*User, error) {
	names := is.UserClaims
	if len(names) == 0 {
		names = []string{"sub", "ov_account_uuid"}
	}
	u := &User{Issuer: is.URL}
	for _, n := range names {
		if s, ok := claims[n].(string); ok && s != "" {
			u.ID = s
			break
		}
	}
	if u.ID == "" {
		return nil, refuse("no user id in the token (claims %s)", strings.Join(names, ", "))
	}
	u.Name, _ = claims["name"].(string)
	if u.Name == "" {
		u.Name, _ = claims["preferred_username"].(string)
	}
	u.Email, _ = claims["email"].(string)
	if is.RolesClaim != "" {
		for _, r := range stringsAt(claims, is.RolesClaim) {
			if len(is.RoleMap) > 0 {
				r = is.RoleMap[r]
			}
			if slices.Contains(Roles, r) && !slices.Contains(u.Roles, r) {
				u.Roles = append(u.Roles, r)
			}
		}
	}
	for _, key := range []string{is.URL + " " + u.ID, u.ID} {
		for _, r := range a.cfg.Users[key] {
			if !slices.Contains(u.Roles, r) {
				u.Roles = append(u.Roles, r)
			}
		}
	}
	slices.SortFunc(u.Roles, func(x, y string) int { return slices.Index(Roles, x) - slices.Index(Roles, y) })
	if u.Roles == nil {
		u.Roles = []string{}
	}
	return u, nil
}

// stringsAt reads a string or a list of strings at a dotted path.
func stringsAt(claims map[string]any, path string) []string {
	var v any = claims
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	switch x := v.(type) {
	case string:
		return strings.Fields(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// constantTimeEqual compares tokens without leaking where they differ.
func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
