package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// attackFixture is a Verifier holding one key of each algorithm we take,
// plus an HTTPS server counting requests, for jku/x5u tokens to point at.
type attackFixture struct {
	v                      *Verifier
	ed                     ed25519.PrivateKey
	ec                     *ecdsa.PrivateKey
	rsa, otherRSA, weakRSA *rsa.PrivateKey
	edKid                  string
	hsSecret               []byte
	hits                   *atomic.Int64
	serverURL              string
}

const (
	ecKid = "ec-1"
	rsKid = "rs-1"
	psKid = "ps-1"
	hsKid = "hs-1"
)

func newAttackFixture(tb testing.TB) *attackFixture {
	tb.Helper()
	k := newTestKeys(tb)
	a, b, weak := testRSAKeys(tb)
	fx := &attackFixture{
		ed: k.signer.key, edKid: k.signer.KeyID(), ec: newECKey(tb),
		rsa: a, otherRSA: b, weakRSA: weak,
		hsSecret: []byte("0123456789abcdef0123456789abcdef"), hits: new(atomic.Int64),
	}
	ks := mustParseJWKS(tb, jwksDoc(tb, publicJWK(fx.edKid, k.publicKey()), ecJWK(ecKid, &fx.ec.PublicKey),
		rsaJWK(rsKid, algRS256, &a.PublicKey), rsaJWK(psKid, algPS256, &a.PublicKey)))
	v, err := NewVerifierFrom(StaticKeys(ks), VerifierConfig{HS256Secret: fx.hsSecret, HS256KeyID: hsKid})
	if err != nil {
		tb.Fatal(err)
	}
	fx.v = v
	attacker := newECKey(tb)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fx.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwksDoc(tb, ecJWK(ecKid, &attacker.PublicKey)))
	}))
	tb.Cleanup(srv.Close)
	fx.serverURL = srv.URL
	return fx
}

func hdr(alg, kid string) map[string]any { return map[string]any{"alg": alg, "kid": kid, "typ": "JWT"} }

func claimsWith(edit func(*claims)) claims {
	c := validClaims()
	if edit != nil {
		edit(&c)
	}
	return c
}

type attackCase struct {
	name, token string
	want        error
}

// attackCases are forged, altered or unacceptable tokens, each with the one
// sentinel Verify must name.
func (fx *attackFixture) attackCases(tb testing.TB) []attackCase {
	tb.Helper()
	now := time.Now()
	valid := signRaw(tb, algEdDSA, fx.ed, hdr(algEdDSA, fx.edKid), validClaims())
	parts := strings.Split(valid, ".")
	_, impostorEd, _ := ed25519.GenerateKey(rand.Reader)
	impostorEC := newECKey(tb)
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&fx.rsa.PublicKey))})
	ecPub, _ := fx.ec.PublicKey.Bytes()
	ed := func(h, payload any) string { return signRaw(tb, algEdDSA, fx.ed, h, payload) }
	edClaims := func(edit func(*claims)) string { return ed(hdr(algEdDSA, fx.edKid), claimsWith(edit)) }
	withHdr := func(extra map[string]any) map[string]any {
		h := hdr(algEdDSA, fx.edKid)
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	noneToken := func(alg, kid string) string {
		return encodeJSON(tb, hdr(alg, kid)) + "." + encodeJSON(tb, validClaims()) + "."
	}
	esValid := signRaw(tb, algES256, fx.ec, hdr(algES256, ecKid), validClaims())
	esInput, esSig := splitSig(tb, esValid)
	n := elliptic.P256().Params().N
	r, s := new(big.Int).SetBytes(esSig[:32]), new(big.Int).SetBytes(esSig[32:])
	der, _ := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	dupPayload := `{"iss":"reelguard","aud":"reelguard","sub":"42","role":"user","sub":"admin-1","exp":` + itoa(now.Add(time.Hour).Unix()) + `,"iat":` + itoa(now.Unix()) + `}`
	return []attackCase{
		{"alg none", noneToken("none", fx.edKid), ErrBadSignature},
		{"alg None", noneToken("None", fx.edKid), ErrBadSignature},
		{"alg NONE", noneToken("NONE", fx.edKid), ErrBadSignature},
		{"alg nOnE", noneToken("nOnE", fx.edKid), ErrBadSignature},
		{"alg none with a signature", ed(hdr("none", fx.edKid), validClaims()), ErrBadSignature},
		{"alg none on the HS256 kid", noneToken("none", hsKid), ErrBadSignature},
		{"alg none without kid", encodeJSON(tb, map[string]any{"alg": "none"}) + "." + parts[1] + ".", ErrUnknownKey},
		{"alg eddsa (case)", ed(hdr("eddsa", fx.edKid), validClaims()), ErrBadSignature},
		{"HS256 keyed with the RSA public key PEM", signRaw(tb, algHS256, rsaPEM, hdr(algHS256, rsKid), validClaims()), ErrBadSignature},
		{"HS256 keyed with the RSA modulus", signRaw(tb, algHS256, fx.rsa.N.Bytes(), hdr(algHS256, rsKid), validClaims()), ErrBadSignature},
		{"HS256 keyed with the Ed25519 public key", signRaw(tb, algHS256, []byte(fx.ed.Public().(ed25519.PublicKey)), hdr(algHS256, fx.edKid), validClaims()), ErrBadSignature},
		{"HS256 keyed with the EC point", signRaw(tb, algHS256, ecPub, hdr(algHS256, ecKid), validClaims()), ErrBadSignature},
		{"HS256 with another secret", signRaw(tb, algHS256, []byte("another secret of 32 bytes......"), hdr(algHS256, hsKid), validClaims()), ErrBadSignature},
		{"RS256 header on the HS256 kid", signRaw(tb, algRS256, fx.rsa, hdr(algRS256, hsKid), validClaims()), ErrBadSignature},
		{"RS256 on the PS256 kid (same RSA key)", signRaw(tb, algRS256, fx.rsa, hdr(algRS256, psKid), validClaims()), ErrBadSignature},
		{"PS256 on the RS256 kid (same RSA key)", signRaw(tb, algPS256, fx.rsa, hdr(algPS256, rsKid), validClaims()), ErrBadSignature},
		{"ES256 header on the EdDSA kid", signRaw(tb, algES256, fx.ec, hdr(algES256, fx.edKid), validClaims()), ErrBadSignature},
		{"embedded jwk", signRaw(tb, algES256, impostorEC, map[string]any{"alg": algES256, "kid": ecKid, "jwk": ecJWK(ecKid, &impostorEC.PublicKey)}, validClaims()), ErrForbiddenHeader},
		{"jku at a URL", signRaw(tb, algES256, impostorEC, map[string]any{"alg": algES256, "kid": ecKid, "jku": fx.serverURL + "/jwks.json"}, validClaims()), ErrForbiddenHeader},
		{"x5u at a URL", ed(withHdr(map[string]any{"x5u": fx.serverURL + "/cert.pem"}), validClaims()), ErrForbiddenHeader},
		{"x5c chain", ed(withHdr(map[string]any{"x5c": []string{"MIIBIjANBgkq"}}), validClaims()), ErrForbiddenHeader},
		{"jku null", ed(withHdr(map[string]any{"jku": nil}), validClaims()), ErrForbiddenHeader},
		{"kid path traversal", ed(hdr(algEdDSA, "../../etc/passwd"), validClaims()), ErrUnknownKey},
		{"kid absolute path", ed(hdr(algEdDSA, "/dev/null"), validClaims()), ErrUnknownKey},
		{"kid SQL injection", ed(hdr(algEdDSA, "x' OR '1'='1"), validClaims()), ErrUnknownKey},
		{"kid with NUL", ed(hdr(algEdDSA, fx.edKid+"\x00"), validClaims()), ErrMalformed},
		{"kid with newline", ed(hdr(algEdDSA, "a\nb"), validClaims()), ErrMalformed},
		{"kid of 257 bytes", ed(hdr(algEdDSA, strings.Repeat("k", 257)), validClaims()), ErrMalformed},
		{"empty signature", parts[0] + "." + parts[1] + ".", ErrBadSignature},
		{"null signature (64 zero bytes)", parts[0] + "." + parts[1] + "." + b64url(make([]byte, 64)), ErrBadSignature},
		{"signature \"null\"", parts[0] + "." + parts[1] + "." + b64url([]byte("null")), ErrBadSignature},
		{"signature by another Ed25519 key", signRaw(tb, algEdDSA, impostorEd, hdr(algEdDSA, fx.edKid), validClaims()), ErrBadSignature},
		{"signature by another EC key", signRaw(tb, algES256, impostorEC, hdr(algES256, ecKid), validClaims()), ErrBadSignature},
		{"signature by another RSA key", signRaw(tb, algRS256, fx.otherRSA, hdr(algRS256, rsKid), validClaims()), ErrBadSignature},
		{"RS256 by a 1024-bit key", signRaw(tb, algRS256, fx.weakRSA, hdr(algRS256, rsKid), validClaims()), ErrBadSignature},
		{"PS256 salt length 0", pssToken(tb, fx.rsa, 0), ErrBadSignature},
		{"PS256 salt length 64", pssToken(tb, fx.rsa, 64), ErrBadSignature},
		{"PS256 maximal salt", pssToken(tb, fx.rsa, rsa.PSSSaltLengthAuto), ErrBadSignature},
		{"ES256 signature DER-encoded", esInput + "." + b64url(der), ErrBadSignature},
		{"ES256 signature truncated", esInput + "." + b64url(esSig[:63]), ErrBadSignature},
		{"ES256 s + n (33 bytes)", esInput + "." + b64url(append(append([]byte{}, esSig[:32]...), new(big.Int).Add(s, n).Bytes()...)), ErrBadSignature},
		{"ES256 s = n", esInput + "." + b64url(append(append([]byte{}, esSig[:32]...), n.FillBytes(make([]byte, 32))...)), ErrBadSignature},
		{"ES256 r = 0, s = 0", esInput + "." + b64url(make([]byte, 64)), ErrBadSignature},
		{"tampered payload", parts[0] + "." + encodeJSON(tb, claimsWith(func(c *claims) { c.Role = "admin" })) + "." + parts[2], ErrBadSignature},
		{"expired", edClaims(func(c *claims) {
			c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(now.Add(-2*time.Hour)), nil, jwt.NewNumericDate(now.Add(-time.Minute))
		}), ErrExpired},
		{"not yet valid", edClaims(func(c *claims) { c.NotBefore = jwt.NewNumericDate(now.Add(5 * time.Minute)) }), ErrNotYetValid},
		{"issued in the future", edClaims(func(c *claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(5 * time.Minute)) }), ErrNotYetValid},
		{"wrong iss", edClaims(func(c *claims) { c.Issuer = "https://evil.example" }), ErrInvalidClaims},
		{"wrong aud", edClaims(func(c *claims) { c.Audience = jwt.ClaimStrings{"other-api"} }), ErrInvalidClaims},
		{"missing sub", edClaims(func(c *claims) { c.Subject = "" }), ErrInvalidClaims},
		{"missing exp", edClaims(func(c *claims) { c.ExpiresAt = nil }), ErrInvalidClaims},
		{"missing iat (lifetime cap)", edClaims(func(c *claims) { c.IssuedAt = nil }), ErrInvalidClaims},
		{"lifetime over 24h", edClaims(func(c *claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(25 * time.Hour)) }), ErrInvalidClaims},
		{"exp as a string", ed(hdr(algEdDSA, fx.edKid), `{"iss":"reelguard","aud":"reelguard","sub":"42","role":"user","exp":"`+itoa(now.Add(time.Hour).Unix())+`","iat":`+itoa(now.Unix())+`}`), ErrMalformed},
		{"duplicated sub", ed(hdr(algEdDSA, fx.edKid), dupPayload), ErrMalformed},
		{"sub and SUB", ed(hdr(algEdDSA, fx.edKid), strings.Replace(dupPayload, `"sub":"admin-1"`, `"SUB":"admin-1"`, 1)), ErrMalformed},
		{"duplicated alg header", ed(`{"alg":"none","alg":"EdDSA","kid":"`+fx.edKid+`"}`, validClaims()), ErrMalformed},
		{"payload is an array", ed(hdr(algEdDSA, fx.edKid), `[{"sub":"42"}]`), ErrMalformed},
		{"payload with trailing data", ed(hdr(algEdDSA, fx.edKid), string(must(json.Marshal(validClaims())))+`{}`), ErrMalformed},
		{"typ id_token+jwt", ed(withHdr(map[string]any{"typ": "id_token+jwt"}), validClaims()), ErrMalformed},
		{"typ JWE", ed(withHdr(map[string]any{"typ": "JWE"}), validClaims()), ErrMalformed},
		{"typ empty", ed(withHdr(map[string]any{"typ": ""}), validClaims()), ErrMalformed},
		{"crit header", ed(withHdr(map[string]any{"crit": []string{"exp"}}), validClaims()), ErrMalformed},
		{"b64 false under crit", ed(withHdr(map[string]any{"crit": []string{"b64"}, "b64": false}), validClaims()), ErrMalformed},
		{"oversized token", edClaims(func(c *claims) { c.ID = strings.Repeat("j", maxTokenLen) }), ErrMalformed},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, ErrMalformed},
		{"JWE (five segments)", valid + ".x.y", ErrMalformed},
		{"padded segments", parts[0] + "=." + parts[1] + "." + parts[2], ErrMalformed},
		{"line break in the signature", parts[0] + "." + parts[1] + "." + parts[2][:8] + "\n" + parts[2][8:], ErrMalformed},
		// encoding/json binds "ſub" (long s) to sub; other parsers see no sub.
		{"claim name folding to sub", ed(hdr(algEdDSA, fx.edKid), strings.Replace(strings.Replace(dupPayload, `"sub":"42",`, "", 1), `"sub"`, "\"\u017fub\"", 1)), ErrMalformed},
	}
}

func TestAttackTokens(t *testing.T) {
	fx := newAttackFixture(t)
	cases := fx.attackCases(t)
	if len(cases) < 25 {
		t.Fatalf("only %d attack tokens", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := fx.v.Verify(tc.token)
			if !errors.Is(err, tc.want) || p != (Principal{}) {
				t.Fatalf("Verify = %+v, %v; want %v", p, err, tc.want)
			}
			if got, want := Reason(err), Reason(tc.want); got != want {
				t.Errorf("Reason = %q, want %q", got, want)
			}
		})
	}
	if n := fx.hits.Load(); n != 0 {
		t.Errorf("the jku/x5u server was asked %d times; nothing may be fetched from a token", n)
	}
}

// The fixture's keys accept honest tokens of every algorithm, so each attack
// above fails for its own reason, not for a broken fixture.
func TestAttackFixtureAcceptsHonestTokens(t *testing.T) {
	fx := newAttackFixture(t)
	for name, tok := range map[string]string{
		"EdDSA":                  signRaw(t, algEdDSA, fx.ed, hdr(algEdDSA, fx.edKid), validClaims()),
		"ES256":                  signRaw(t, algES256, fx.ec, hdr(algES256, ecKid), validClaims()),
		"RS256":                  signRaw(t, algRS256, fx.rsa, hdr(algRS256, rsKid), validClaims()),
		"PS256":                  signRaw(t, algPS256, fx.rsa, hdr(algPS256, psKid), validClaims()),
		"HS256":                  signRaw(t, algHS256, fx.hsSecret, hdr(algHS256, hsKid), validClaims()),
		"typ at+jwt":             signRaw(t, algEdDSA, fx.ed, map[string]any{"alg": algEdDSA, "kid": fx.edKid, "typ": "at+jwt"}, validClaims()),
		"typ application/at+jwt": signRaw(t, algEdDSA, fx.ed, map[string]any{"alg": algEdDSA, "kid": fx.edKid, "typ": "application/at+JWT"}, validClaims()),
		"no typ":                 signRaw(t, algEdDSA, fx.ed, map[string]any{"alg": algEdDSA, "kid": fx.edKid}, validClaims()),
		"x5t thumbprint":         signRaw(t, algEdDSA, fx.ed, map[string]any{"alg": algEdDSA, "kid": fx.edKid, "x5t": "abc"}, validClaims()),
	} {
		if p, err := fx.v.Verify(tok); err != nil || p.Subject != "42" {
			t.Errorf("%s: Verify = %+v, %v", name, p, err)
		}
	}
}

// golang-jwt's PS256 verifies with PSSSaltLengthAuto and so takes any salt
// length; ours takes only the hash length. This pins the difference.
func TestPS256SaltLengthStricterThanGolangJWT(t *testing.T) {
	a, _, _ := testRSAKeys(t)
	input, sig := splitSig(t, pssToken(t, a, 0))
	if err := jwt.SigningMethodPS256.Verify(input, sig, &a.PublicKey); err != nil {
		t.Fatalf("golang-jwt PS256 refused salt length 0 (%v): the premise of this test changed", err)
	}
	if (verifyKey{alg: algPS256, pub: &a.PublicKey}).verify(input, sig) {
		t.Error("our PS256 accepted salt length 0")
	}
}

// A high-S ES256 signature (n - s) verifies: ECDSA defines it valid, JWS
// does not forbid it, and standard signers emit it half the time. It is
// harmless here because the malleated token is the same principal with the
// same jti, so a revocation of one is a revocation of both.
func TestES256HighSIsTheSameToken(t *testing.T) {
	fx := newAttackFixture(t)
	tok := signRaw(t, algES256, fx.ec, hdr(algES256, ecKid), validClaims())
	input, sig := splitSig(t, tok)
	s := new(big.Int).SetBytes(sig[32:])
	flipped := new(big.Int).Sub(elliptic.P256().Params().N, s)
	malleated := input + "." + b64url(append(append([]byte{}, sig[:32]...), flipped.FillBytes(make([]byte, 32))...))
	p1, err1 := fx.v.Verify(tok)
	p2, err2 := fx.v.Verify(malleated)
	if err1 != nil || err2 != nil || p1 != p2 {
		t.Fatalf("Verify = %+v, %v and %+v, %v; want one principal", p1, err1, p2, err2)
	}
	list := NewMemoryRevocations(0)
	list.Revoke(p1.TokenID, p1.Expires)
	if err := CheckRevoked(t.Context(), list, p2); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoking the original left the malleated token valid: %v", err)
	}
}

func pssToken(tb testing.TB, key *rsa.PrivateKey, saltLen int) string {
	tb.Helper()
	input := encodeJSON(tb, hdr(algPS256, psKid)) + "." + encodeJSON(tb, validClaims())
	h := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: saltLen})
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + b64url(sig)
}

func splitSig(tb testing.TB, token string) (string, []byte) {
	tb.Helper()
	i := strings.LastIndexByte(token, '.')
	sig, err := b64(token[i+1:])
	if err != nil {
		tb.Fatal(err)
	}
	return token[:i], sig
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err) // test setup only
	}
	return v
}

func itoa(n int64) string { return big.NewInt(n).String() }
