package auth

import (
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Compare BenchmarkVerify/no-cache with BenchmarkBareJWT (the same token and
// key through golang-jwt alone, no strict JSON, no header policy):
//
//	go test -run '^$' -bench 'Verify$|BareJWT' -benchmem -count 6 -cpu 1 ./auth/
func benchToken(b *testing.B) (testKeys, string, *JWKS) {
	k := newTestKeys(b)
	tok, err := k.signer.Mint("42", "user", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	ks, err := LoadJWKS(filepath.Join(k.dir, JWKSFile))
	if err != nil {
		b.Fatal(err)
	}
	return k, tok, ks
}

// BenchmarkVerify compares a cache hit (the same token again, as a client
// reusing its token does) with a full verification (cache off).
func BenchmarkVerify(b *testing.B) {
	_, tok, ks := benchToken(b)
	for _, bc := range []struct {
		name string
		v    *Verifier
	}{
		{"cache-hit", NewVerifier(ks, VerifierConfig{})},
		{"no-cache", NewVerifier(ks, VerifierConfig{CacheSize: -1})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if _, err := bc.v.Verify(tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.v.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBareJWT is golang-jwt's own verification of the same token: the
// baseline a cache miss must stay within 10% of.
func BenchmarkBareJWT(b *testing.B) {
	k, tok, _ := benchToken(b)
	pub := k.publicKey()
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(DefaultIssuer),
		jwt.WithAudience(DefaultAudience), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	keyFunc := func(*jwt.Token) (any, error) { return ed25519.PublicKey(pub), nil }
	b.ReportAllocs()
	for b.Loop() {
		var c claims
		if _, err := parser.ParseWithClaims(tok, &c, keyFunc); err != nil {
			b.Fatal(err)
		}
	}
}
