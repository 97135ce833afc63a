package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestMintVerifyRoundTrip(t *testing.T) {
	k := newTestKeys(t)
	before := time.Now()
	tok, err := k.signer.Mint("42", "user", time.Hour)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	p, err := k.verifier.Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if p.Subject != "42" || p.Role != "user" {
		t.Errorf("principal = %+v, want sub 42 role user", p)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(p.TokenID) {
		t.Errorf("TokenID = %q, want 16 random bytes in hex", p.TokenID)
	}
	if lo, hi := before.Add(time.Hour-time.Second), time.Now().Add(time.Hour+time.Second); p.Expires.Before(lo) || p.Expires.After(hi) {
		t.Errorf("Expires = %v, want about now+1h", p.Expires)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, &claims{})
	if err != nil {
		t.Fatalf("ParseUnverified: %v", err)
	}
	if parsed.Header["alg"] != "EdDSA" || parsed.Header["kid"] != k.signer.KeyID() {
		t.Errorf("header = %v, want alg EdDSA kid %s", parsed.Header, k.signer.KeyID())
	}
	c := parsed.Claims.(*claims)
	if c.Issuer != "reelguard" || len(c.Audience) != 1 || c.Audience[0] != "reelguard" || c.IssuedAt == nil || c.NotBefore == nil {
		t.Errorf("claims = %+v, want iss/aud reelguard with iat and nbf", c)
	}
	tok2, _ := k.signer.Mint("42", "user", time.Hour)
	if p2, _ := k.verifier.Verify(tok2); p2.TokenID == p.TokenID {
		t.Errorf("two tokens share jti %s", p.TokenID)
	}
}

func TestMintRejectsBadInput(t *testing.T) {
	k := newTestKeys(t)
	for _, tc := range []struct {
		name, sub, role string
		ttl             time.Duration
	}{
		{"no sub", "", "user", time.Hour},
		{"no role", "42", "", time.Hour},
		{"zero ttl", "42", "user", 0},
		{"negative ttl", "42", "user", -time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tok, err := k.signer.Mint(tc.sub, tc.role, tc.ttl); err == nil {
				t.Errorf("Mint = %q, want an error", tok)
			}
		})
	}
}

// rejectCases are tokens Verify must refuse, with the sentinel it must name.
func rejectCases(tb testing.TB, k testKeys) []struct {
	name, token string
	want        error
} {
	tb.Helper()
	other := newTestKeys(tb)
	kid := k.signer.KeyID()
	pub := k.publicKey()
	now := time.Now()
	valid := signWith(tb, k.signer, nil)
	parts := strings.Split(valid, ".")
	_, impostor, _ := ed25519.GenerateKey(rand.Reader)
	hdr := func(alg string) map[string]any { return map[string]any{"alg": alg, "kid": kid, "typ": "JWT"} }
	return []struct {
		name, token string
		want        error
	}{
		{"empty", "", ErrNoToken},
		{"other key same kid", signJWT(tb, jwt.SigningMethodEdDSA, impostor, kid, validClaims()), ErrBadSignature},
		{"other keys folder", signWith(tb, other.signer, nil), ErrUnknownKey},
		{"no kid", signJWT(tb, jwt.SigningMethodEdDSA, k.signer.key, "", validClaims()), ErrUnknownKey},
		{"empty kid", rawToken(tb, map[string]any{"alg": "EdDSA", "kid": ""}, validClaims(), make([]byte, 64)), ErrUnknownKey},
		{"expired", signWith(tb, k.signer, func(c *claims) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(-2 * time.Hour))
			c.NotBefore = c.IssuedAt
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute))
		}), ErrExpired},
		{"nbf in future", signWith(tb, k.signer, func(c *claims) { c.NotBefore = jwt.NewNumericDate(now.Add(5 * time.Minute)) }), ErrNotYetValid},
		{"iat in future", signWith(tb, k.signer, func(c *claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(5 * time.Minute)) }), ErrNotYetValid},
		{"no exp", signWith(tb, k.signer, func(c *claims) { c.ExpiresAt = nil }), ErrInvalidClaims},
		{"no sub", signWith(tb, k.signer, func(c *claims) { c.Subject = "" }), ErrInvalidClaims},
		{"no role", signWith(tb, k.signer, func(c *claims) { c.Role = "" }), ErrInvalidClaims},
		{"wrong issuer", signWith(tb, k.signer, func(c *claims) { c.Issuer = "evil" }), ErrInvalidClaims},
		{"no issuer", signWith(tb, k.signer, func(c *claims) { c.Issuer = "" }), ErrInvalidClaims},
		{"wrong audience", signWith(tb, k.signer, func(c *claims) { c.Audience = jwt.ClaimStrings{"other"} }), ErrInvalidClaims},
		{"no audience", signWith(tb, k.signer, func(c *claims) { c.Audience = nil }), ErrInvalidClaims},
		{"HS256 keyed with public key", signJWT(tb, jwt.SigningMethodHS256, []byte(pub), kid, validClaims()), ErrBadSignature},
		{"HS256 keyed with jwk x", signJWT(tb, jwt.SigningMethodHS256, []byte(base64.RawURLEncoding.EncodeToString(pub)), kid, validClaims()), ErrBadSignature},
		{"alg none", signJWT(tb, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, validClaims()), ErrBadSignature},
		{"alg none no kid", signJWT(tb, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", validClaims()), ErrUnknownKey},
		{"alg NONE", rawToken(tb, hdr("NONE"), validClaims(), nil), ErrBadSignature},
		{"alg RS256", rawToken(tb, hdr("RS256"), validClaims(), make([]byte, 256)), ErrBadSignature},
		{"alg ES256", rawToken(tb, hdr("ES256"), validClaims(), make([]byte, 64)), ErrBadSignature},
		{"alg missing", rawToken(tb, map[string]any{"kid": kid}, validClaims(), make([]byte, 64)), ErrBadSignature},
		{"crit header", rawToken(tb, map[string]any{"alg": "EdDSA", "kid": kid, "crit": []string{"b64"}, "b64": false}, validClaims(), make([]byte, 64)), ErrMalformed},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"reelguard","aud":"reelguard","sub":"42","role":"admin","exp":9999999999}`)) + "." + parts[2], ErrBadSignature},
		{"signature dropped", parts[0] + "." + parts[1] + ".", ErrBadSignature},
		{"signature padded", valid + "==", ErrMalformed},
		{"role not a string", rawToken(tb, hdr("EdDSA"), map[string]any{"sub": "42", "role": 7, "exp": now.Add(time.Hour).Unix()}, make([]byte, 64)), ErrMalformed},
		{"kid not a string", rawToken(tb, map[string]any{"alg": "EdDSA", "kid": 7}, validClaims(), make([]byte, 64)), ErrMalformed},
		{"two segments", parts[0] + "." + parts[1], ErrMalformed},
		{"four segments", valid + ".x", ErrMalformed},
		{"header not base64", "!!!." + parts[1] + "." + parts[2], ErrMalformed},
		{"header not json", base64.RawURLEncoding.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"header json array", base64.RawURLEncoding.EncodeToString([]byte(`["kid"]`)) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"header null", base64.RawURLEncoding.EncodeToString([]byte(`null`)) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"payload not base64", parts[0] + ".%%%." + parts[2], ErrMalformed},
		{"garbage", "not a token", ErrMalformed},
		{"too long", strings.Repeat("a", maxTokenLen+1), ErrMalformed},
	}
}

func TestVerifyRejects(t *testing.T) {
	k := newTestKeys(t)
	for _, tc := range rejectCases(t, k) {
		t.Run(tc.name, func(t *testing.T) {
			p, err := k.verifier.Verify(tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %+v, %v; want %v", p, err, tc.want)
			}
			if p != (Principal{}) {
				t.Errorf("principal %+v returned with an error", p)
			}
			if got, want := Reason(err), Reason(tc.want); got != want {
				t.Errorf("Reason = %q, want %q", got, want)
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	k := newTestKeys(t)
	justExpired := signWith(t, k.signer, func(c *claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-10 * time.Second)) })
	if _, err := k.verifier.Verify(justExpired); err != nil {
		t.Errorf("default leeway: Verify = %v, want accepted within 30s", err)
	}
	ks, err := LoadJWKS(k.dir + "/" + JWKSFile)
	if err != nil {
		t.Fatal(err)
	}
	strict := NewVerifier(ks, VerifierConfig{Leeway: -1})
	if _, err := strict.Verify(justExpired); !errors.Is(err, ErrExpired) {
		t.Errorf("no leeway: Verify = %v, want ErrExpired", err)
	}
}

func TestVerifyConfig(t *testing.T) {
	k := newTestKeys(t)
	ks, err := LoadJWKS(k.dir + "/" + JWKSFile)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(ks, VerifierConfig{Issuer: "idp", Audience: "gw"})
	ours := signWith(t, k.signer, nil)
	if _, err := v.Verify(ours); !errors.Is(err, ErrInvalidClaims) {
		t.Errorf("iss/aud reelguard under config idp/gw: %v, want ErrInvalidClaims", err)
	}
	theirs := signWith(t, k.signer, func(c *claims) { c.Issuer, c.Audience = "idp", jwt.ClaimStrings{"x", "gw"} })
	if _, err := v.Verify(theirs); err != nil {
		t.Errorf("matching iss/aud: %v", err)
	}
}

func TestVerifierCache(t *testing.T) {
	k := newTestKeys(t)
	tok := signWith(t, k.signer, func(c *claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Minute)) })
	want, err := k.verifier.Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// Swap the key inside the same set: a cache miss now fails the signature.
	ks := k.verifier.src.Keys()
	kid := k.signer.KeyID()
	good := ks.keys[kid]
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ks.keys[kid] = verifyKey{alg: algEdDSA, pub: otherPub}
	if got, err := k.verifier.Verify(tok); err != nil || got != want {
		t.Fatalf("second Verify = %+v, %v; want the cached %+v", got, err, want)
	}
	if _, err := k.verifier.Verify(signWith(t, k.signer, nil)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("uncached token: %v, want ErrBadSignature (the cache must be keyed per token)", err)
	}
	ks.keys[kid] = good
	// A new key set (rotation) voids the entries verified against the old one.
	k.verifier.src = StaticKeys(&JWKS{keys: map[string]verifyKey{}})
	if _, err := k.verifier.Verify(tok); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("cached token after its key left the set: %v, want ErrUnknownKey", err)
	}
	k.verifier.src = StaticKeys(ks)
	k.verifier.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if _, err := k.verifier.Verify(tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("Verify after exp = %v, want ErrExpired: cache entries expire with the token", err)
	}
}

func TestVerifierCacheNeverStoresFailures(t *testing.T) {
	k := newTestKeys(t)
	bad := signWith(t, k.signer, func(c *claims) { c.Role = "" })
	for range 2 {
		if _, err := k.verifier.Verify(bad); !errors.Is(err, ErrInvalidClaims) {
			t.Fatalf("Verify = %v, want ErrInvalidClaims", err)
		}
	}
	if n := k.verifier.cache.len(); n != 0 {
		t.Errorf("cache holds %d entries after failures", n)
	}
}

func TestTokenCacheBounded(t *testing.T) {
	now := time.Now()
	c := newTokenCache(16)
	for i := range 200 {
		c.put(cacheKey(strings.Repeat("t", i+1)), Principal{Subject: "s", Expires: now.Add(time.Hour)}, now, nil)
		if n := c.len(); n > 16 {
			t.Fatalf("after %d puts the cache holds %d > 16", i+1, n)
		}
	}
	// The newest entry survives eviction.
	if _, ok := c.get(cacheKey(strings.Repeat("t", 200)), now, nil); !ok {
		t.Error("the entry just added was evicted")
	}
}

func TestVerifyConcurrent(t *testing.T) {
	k := newTestKeys(t)
	k.verifier.cache = newTokenCache(4) // force evictions while others read
	toks := make([]string, 8)
	for i := range toks {
		toks[i] = signWith(t, k.signer, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if _, err := k.verifier.Verify(toks[(g+i)%len(toks)]); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Verify: %v", err)
	}
}

// FuzzVerify: Verify never panics, classifies every failure, and accepts no
// string but the one valid seed token.
func FuzzVerify(f *testing.F) {
	k := newTestKeys(f)
	valid := signWith(f, k.signer, nil)
	f.Add(valid)
	for _, tc := range rejectCases(f, k) {
		if len(tc.token) <= maxTokenLen {
			f.Add(tc.token)
		}
	}
	for _, tc := range newAttackFixture(f).attackCases(f) {
		if len(tc.token) <= maxTokenLen {
			f.Add(tc.token)
		}
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := k.verifier.Verify(token)
		if err != nil {
			if Reason(err) == "unauthenticated" {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if token != valid || p.Subject == "" || p.Role == "" {
			t.Fatalf("accepted %q as %+v", token, p)
		}
	})
}

// FuzzParseHeader: the header parser never panics, fails only with our
// sentinels, and what it accepts has a sane kid and no key-bearing member.
func FuzzParseHeader(f *testing.F) {
	for _, h := range []string{
		`{"alg":"EdDSA","kid":"k","typ":"JWT"}`, `{"alg":"none"}`, `{"alg":"EdDSA","kid":"k","jku":"https://x"}`,
		`{"alg":"EdDSA","kid":"k","crit":["b64"]}`, `{"alg":"a","alg":"b","kid":"k"}`, `{"KID":"k"}`, `[]`, `null`,
		`{"kid":"../../etc/passwd","alg":"EdDSA"}`, `{"kid":"k","typ":"at+jwt","x":{"y":[1,{"z":2}]}}`,
	} {
		f.Add([]byte(h))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := parseHeader(raw)
		if err != nil {
			if Reason(err) == "unauthenticated" {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		names, err := refStrictJSON(raw, nil)
		if err != nil || checkKid(h.Kid) != nil {
			t.Fatalf("accepted %q: kid %q, strict %v", raw, h.Kid, err)
		}
		var want jwsHeader
		if err := json.Unmarshal(raw, &want); err != nil || h != want {
			t.Fatalf("read %q as %+v, encoding/json reads %+v (%v)", raw, h, want, err)
		}
		for _, n := range append(forbiddenHeaders, "crit") {
			if slices.Contains(names, n) {
				t.Fatalf("accepted %q with %s", raw, n)
			}
		}
	})
}
