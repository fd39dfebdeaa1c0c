package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// issuer is an OpenID provider's discovery document and key set served
// over HTTP on 127.0.0.1, whose keys the test holds, so that it can sign
// tokens with any claims, rotate keys and count key-set fetches.
type issuer struct {
	srv *httptest.Server

	mu      sync.Mutex
	keys    []jose.JSONWebKey // private; the key set serves their public halves
	fetches int
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	is := &issuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys",
			"authorization_endpoint": is.srv.URL + "/auth", "token_endpoint": is.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		is.mu.Lock()
		defer is.mu.Unlock()
		is.fetches++
		var set jose.JSONWebKeySet
		for _, k := range is.keys {
			set.Keys = append(set.Keys, k.Public())
		}
		_ = json.NewEncoder(w).Encode(set)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	is.addRSA(t, "k1")
	return is
}

func (is *issuer) addRSA(t *testing.T, kid string) jose.JSONWebKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return is.add(jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"})
}

func (is *issuer) addEC(t *testing.T, kid string) jose.JSONWebKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return is.add(jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"})
}

func (is *issuer) add(k jose.JSONWebKey) jose.JSONWebKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys = append(is.keys, k)
	return k
}

func (is *issuer) key(kid string) jose.JSONWebKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	for _, k := range is.keys {
		if k.KeyID == kid {
			return k
		}
	}
	panic("no key " + kid)
}

// claims are a valid token's claims for the test audience.
func (is *issuer) claims(sub string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": is.srv.URL, "aud": "avo", "sub": sub, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "roles": []string{"teacher"}, "name": "Leen"}
}

func sign(t *testing.T, k jose.JSONWebKey, claims map[string]any) string {
	t.Helper()
	alg := jose.SignatureAlgorithm(k.Algorithm)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestTokensAreCheckedAgainstTheIssuer(t *testing.T) {
	is := newIssuer(t)
	is.addEC(t, "e1")
	a, err := New(Config{Issuers: []Issuer{{URL: is.srv.URL, Audience: "avo", RolesClaim: "roles"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k1 := is.key("k1")

	// An attacker's key, unknown to the issuer, with the issuer's kid.
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged := jose.JSONWebKey{Key: stranger, KeyID: "k1", Algorithm: string(jose.RS256)}
	// HMAC "signed" with the issuer's public key as the secret.
	pub, _ := x509.MarshalPKIXPublicKey(&k1.Key.(*rsa.PrivateKey).PublicKey)
	hmacKey := jose.JSONWebKey{Key: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), KeyID: "k1", Algorithm: string(jose.HS256)}

	with := func(change func(map[string]any)) map[string]any {
		c := is.claims("u-1")
		change(c)
		return c
	}
	valid := sign(t, k1, is.claims("u-1"))
	parts := strings.Split(valid, ".")
	for _, c := range []struct {
		name, token, want string
	}{
		{"expired", sign(t, k1, with(func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })), "token expired at "},
		{"not yet valid", sign(t, k1, with(func(c map[string]any) { c["nbf"] = time.Now().Add(10 * time.Minute).Unix() })), "token not valid before "},
		{"wrongly signed (payload changed)", parts[0] + "." + b64(with(func(c map[string]any) { c["sub"] = "admin" })) + "." + parts[2], "failed to verify signature"},
		{"signed by an unknown key", sign(t, forged, is.claims("u-1")), "failed to verify signature"},
		{"wrong issuer", sign(t, k1, with(func(c map[string]any) { c["iss"] = "https://elsewhere.example" })), `issuer "https://elsewhere.example" is not trusted`},
		{"wrong audience", sign(t, k1, with(func(c map[string]any) { c["aud"] = "another-client" })), `expected audience "avo"`},
		{"alg none", b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(is.claims("u-1")) + ".", "not a JWT signed with RS256 or ES256"},
		{"HMAC with the public key", sign(t, hmacKey, is.claims("u-1")), "not a JWT signed with RS256 or ES256"},
		{"not a JWT", "abc.def", "not a JWT signed with RS256 or ES256"},
		{"no user id", sign(t, k1, with(func(c map[string]any) { delete(c, "sub") })), "no user id in the token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := a.Verify(ctx, c.token)
			var ae *Error
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Verify = %+v, %v; want an error with %q", u, err, c.want)
			}
			if !errorsAs(err, &ae) || !strings.HasPrefix(ae.Challenge(), `Bearer realm="avo", error="invalid_token", error_description=`) {
				t.Errorf("challenge of %v", err)
			}
		})
	}

	for _, c := range []struct {
		name, token string
	}{
		{"RS256", valid},
		{"ES256", sign(t, is.key("e1"), is.claims("u-1"))},
		{"expired within the leeway", sign(t, k1, with(func(c map[string]any) { c["exp"] = time.Now().Add(-20 * time.Second).Unix() }))},
		{"nbf within the leeway", sign(t, k1, with(func(c map[string]any) { c["nbf"] = time.Now().Add(20 * time.Second).Unix() }))},
		{"audience among several", sign(t, k1, with(func(c map[string]any) { c["aud"] = []string{"account", "avo"} }))},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := a.Verify(ctx, c.token)
			if err != nil {
				t.Fatal(err)
			}
			if u.ID != "u-1" || u.Name != "Leen" || u.Issuer != is.srv.URL || len(u.Roles) != 1 || u.Roles[0] != Teacher {
				t.Errorf("user %+v", u)
			}
		})
	}

	// The issuer rotates: a new key signs; the verifier fetches the key
	// set again for the unknown kid, without a restart.
	before := is.fetches
	k2 := is.addRSA(t, "k2")
	if _, err := a.Verify(ctx, sign(t, k2, is.claims("u-2"))); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if is.fetches <= before {
		t.Errorf("key set fetched %d times before and %d after the rotation", before, is.fetches)
	}
	// Known keys are not fetched again for every token.
	after := is.fetches
	for range 5 {
		if _, err := a.Verify(ctx, sign(t, k2, is.claims("u-2"))); err != nil {
			t.Fatal(err)
		}
	}
	if is.fetches != after {
		t.Errorf("key set fetched %d times for 5 tokens of a known key", is.fetches-after)
	}
}

func TestUnreachableIssuerIsNotTheCallersFault(t *testing.T) {
	is := newIssuer(t)
	tok := sign(t, is.key("k1"), is.claims("u-1"))
	is.srv.Close()
	a, err := New(Config{Issuers: []Issuer{{URL: is.srv.URL, Audience: "avo"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Verify(context.Background(), tok)
	var ae *Error
	if err == nil || errorsAs(err, &ae) || !strings.Contains(err.Error(), "discovery") {
		t.Errorf("Verify with the issuer down: %v, want a discovery error that is not a refusal", err)
	}
	// Once the issuer answers again, tokens pass: a failed discovery is
	// not remembered.
	if _, ok := a.verifiers[is.srv.URL]; ok {
		t.Error("a failed discovery was cached")
	}
}

func errorsAs(err error, target **Error) bool { return errors.As(err, target) }
