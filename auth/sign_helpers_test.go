package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sync"
	"testing"
)

var (
	rsaOnce            sync.Once
	rsa2048A, rsa2048B *rsa.PrivateKey
	rsa1024            *rsa.PrivateKey
)

// testRSAKeys returns two 2048-bit keys and a 1024-bit one, made once per
// test binary (RSA key generation is slow under -race).
func testRSAKeys(tb testing.TB) (a, b, weak *rsa.PrivateKey) {
	tb.Helper()
	rsaOnce.Do(func() {
		rsa2048A, _ = rsa.GenerateKey(rand.Reader, 2048)
		rsa2048B, _ = rsa.GenerateKey(rand.Reader, 2048)
		rsa1024, _ = rsa.GenerateKey(rand.Reader, 1024)
	})
	if rsa2048A == nil || rsa2048B == nil || rsa1024 == nil {
		tb.Fatal("rsa key generation failed")
	}
	return rsa2048A, rsa2048B, rsa1024
}

func newECKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid, alg string, pub *rsa.PublicKey) jwk {
	return jwk{Kty: "RSA", Kid: kid, Alg: alg, Use: "sig", N: b64url(pub.N.Bytes()), E: b64url(big.NewInt(int64(pub.E)).Bytes())}
}

func ecJWK(kid string, pub *ecdsa.PublicKey) jwk {
	raw, _ := pub.Bytes() // 0x04 || X || Y
	return jwk{Kty: "EC", Crv: "P-256", Kid: kid, Alg: algES256, Use: "sig", X: b64url(raw[1:33]), Y: b64url(raw[33:])}
}

func jwksDoc(tb testing.TB, keys ...jwk) []byte {
	tb.Helper()
	doc, err := json.Marshal(jwkSet{Keys: keys})
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

func mustParseJWKS(tb testing.TB, doc []byte) *JWKS {
	tb.Helper()
	ks, err := ParseJWKS(doc)
	if err != nil {
		tb.Fatalf("ParseJWKS: %v", err)
	}
	return ks
}

// encodeJSON marshals v to base64url JSON; a []byte or string is taken as
// the JSON text itself, so tests can write duplicate members.
func encodeJSON(tb testing.TB, v any) string {
	tb.Helper()
	switch raw := v.(type) {
	case string:
		return b64url([]byte(raw))
	case []byte:
		return b64url(raw)
	}
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b64url(b)
}

// signRaw builds header.payload and signs it as alg says with key, whatever
// the header claims: the tool of an attacker who controls every byte.
func signRaw(tb testing.TB, alg string, key any, header, payload any) string {
	tb.Helper()
	input := encodeJSON(tb, header) + "." + encodeJSON(tb, payload)
	return input + "." + b64url(rawSignature(tb, alg, key, input))
}

func rawSignature(tb testing.TB, alg string, key any, input string) []byte {
	tb.Helper()
	h := sha256.Sum256([]byte(input))
	var (
		sig []byte
		err error
	)
	switch alg {
	case algEdDSA:
		sig = ed25519.Sign(key.(ed25519.PrivateKey), []byte(input))
	case algES256:
		r, s, e := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), h[:])
		sig, err = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...), e
	case algRS256:
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, h[:])
	case algPS256:
		sig, err = rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case algHS256:
		mac := hmac.New(sha256.New, key.([]byte))
		mac.Write([]byte(input))
		sig = mac.Sum(nil)
	default:
		tb.Fatalf("rawSignature: alg %s", alg)
	}
	if err != nil {
		tb.Fatalf("sign %s: %v", alg, err)
	}
	return sig
}
