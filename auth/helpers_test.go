package auth

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testKeys is one keys folder with its signer and a verifier over its JWKS.
type testKeys struct {
	dir      string
	signer   *Signer
	verifier *Verifier
}

func newTestKeys(tb testing.TB) testKeys {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "keys")
	if _, err := EnsureKeys(dir); err != nil {
		tb.Fatalf("EnsureKeys: %v", err)
	}
	s, err := LoadSigner(dir)
	if err != nil {
		tb.Fatalf("LoadSigner: %v", err)
	}
	ks, err := LoadJWKS(filepath.Join(dir, JWKSFile))
	if err != nil {
		tb.Fatalf("LoadJWKS: %v", err)
	}
	return testKeys{dir: dir, signer: s, verifier: NewVerifier(ks, VerifierConfig{})}
}

func (k testKeys) publicKey() ed25519.PublicKey {
	return k.signer.key.Public().(ed25519.PublicKey)
}

// validClaims are claims Verify accepts, for tests to spoil one at a time.
func validClaims() claims {
	now := time.Now()
	return claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "reelguard",
			Audience:  jwt.ClaimStrings{"reelguard"},
			Subject:   "42",
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
			ID:        "0123456789abcdef0123456789abcdef",
		},
		Role: "user",
	}
}

// signWith signs claims changed by edit with the signer's key.
func signWith(tb testing.TB, s *Signer, edit func(*claims)) string {
	tb.Helper()
	c := validClaims()
	if edit != nil {
		edit(&c)
	}
	tok, err := s.sign(c)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return tok
}

// rawToken assembles header.payload.signature from parts given as values.
func rawToken(tb testing.TB, header map[string]any, payload any, sig []byte) string {
	tb.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatalf("marshal: %v", err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(payload) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// signJWT signs claims with any method and key, with the given kid (none if empty).
func signJWT(tb testing.TB, m jwt.SigningMethod, key any, kid string, c claims) string {
	tb.Helper()
	t := jwt.NewWithClaims(m, c)
	if kid != "" {
		t.Header["kid"] = kid
	}
	tok, err := t.SignedString(key)
	if err != nil {
		tb.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return tok
}
