package auth

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// Project Wycheproof vectors (testdata/wycheproof, Apache-2.0).

func readVectors(tb testing.TB, name string, v any) {
	tb.Helper()
	raw, err := os.ReadFile("testdata/wycheproof/" + name)
	if err != nil {
		tb.Fatalf("read vectors: %v", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		tb.Fatalf("parse %s: %v", name, err)
	}
}

type wycheproofEd25519 struct {
	TestGroups []struct {
		PublicKeyJwk jwk `json:"publicKeyJwk"`
		Tests        []struct {
			TcID    int    `json:"tcId"`
			Comment string `json:"comment"`
			Msg     string `json:"msg"`
			Sig     string `json:"sig"`
			Result  string `json:"result"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// TestWycheproofEd25519 loads each group's key through ParseJWKS and checks
// every case with the key's verify method, as Verify calls it: valid cases
// verify, invalid ones (malleable S, bad encodings, truncations) do not.
func TestWycheproofEd25519(t *testing.T) {
	var vs wycheproofEd25519
	readVectors(t, "ed25519_test.json", &vs)
	n := 0
	for _, g := range vs.TestGroups {
		k := g.PublicKeyJwk
		k.Alg = "EdDSA" // Wycheproof's JWKs carry no alg; ours must
		ks := mustParseJWKS(t, jwksDoc(t, k))
		key := ks.keys[k.Kid]
		for _, tc := range g.Tests {
			msg, _ := hex.DecodeString(tc.Msg)
			sig, _ := hex.DecodeString(tc.Sig)
			if ok := key.verify(string(msg), sig); ok != (tc.Result == "valid") {
				t.Errorf("tcId %d (%s): verified=%v, want result %s", tc.TcID, tc.Comment, ok, tc.Result)
			}
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d Ed25519 cases ran", n)
	}
}

type wycheproofJOSE struct {
	TestGroups []struct {
		Comment string          `json:"comment"`
		Public  json.RawMessage `json:"public"`
		Private json.RawMessage `json:"private"`
		Tests   []struct {
			TcID    int             `json:"tcId"`
			Comment string          `json:"comment"`
			JWS     json.RawMessage `json:"jws"`
			Result  string          `json:"result"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// rejectedValidJWS are the cases Wycheproof marks valid that we refuse on
// purpose. Every other valid case must verify; no invalid case may.
var rejectedValidJWS = map[int]string{
	// RS384, RS512, PS384, PS512: outside our allow-list (EdDSA, ES256,
	// RS256, PS256), so ParseJWKS skips the key and the kid is unknown.
	264: "RS384", 265: "RS384", 266: "RS384", 267: "RS384",
	268: "RS512", 269: "RS512", 270: "RS512", 271: "RS512",
	320: "PS384", 321: "PS384", 322: "PS384", 323: "PS384",
	325: "PS512", 326: "PS512", 327: "PS512", 328: "PS512",
	// RFC 7520 figure 20: a PS384 token under a key whose alg is PS256.
	// The algorithm comes from the key, so this is rightly refused.
	346: "PS384 token, key pinned to PS256", 350: "PS384 token, key pinned to PS256",
	// RFC 7520 figure 27: ES512 on P-521, a curve we do not take (and the
	// JWK says alg "ES521", which names no algorithm).
	347: "ES512/P-521", 351: "ES512/P-521",
	// A character outside base64url inserted in header or payload: we
	// decode strictly, as golang-jwt's WithStrictDecoding does.
	372: "strict base64url", 373: "strict base64url",
}

// contradictoryJWS are vectors marked invalid whose token is byte for byte
// that of a vector marked valid (the padding they meant to add is absent),
// so no implementation can meet both; we meet the valid one.
var contradictoryJWS = map[int]string{
	367: "identical to valid tcId 357", 370: "identical to valid tcId 357",
}

// TestWycheproofJWS verifies the signature of every vector (their payloads
// are not JWT claims) with the group's key loaded as we load keys: public
// JWKs through ParseJWKS, HMAC keys through VerifierConfig.HS256Secret.
func TestWycheproofJWS(t *testing.T) {
	var vs wycheproofJOSE
	readVectors(t, "json_web_signature_test.json", &vs)
	ran, accepted := 0, 0
	for _, g := range vs.TestGroups {
		v := wycheproofVerifier(t, g.Public, g.Private)
		for _, tc := range g.Tests {
			err := jwsSignatureCheck(v, tc.JWS)
			ran++
			if _, skip := contradictoryJWS[tc.TcID]; skip {
				continue
			}
			want := tc.Result == "valid"
			if _, allowed := rejectedValidJWS[tc.TcID]; allowed && want {
				if err == nil {
					t.Errorf("tcId %d (%s) verified; drop it from rejectedValidJWS", tc.TcID, tc.Comment)
				}
				continue
			}
			if (err == nil) != want {
				t.Errorf("tcId %d (%s, %s): err %v, want result %s", tc.TcID, g.Comment, tc.Comment, err, tc.Result)
			}
			if err != nil && Reason(err) == "unauthenticated" {
				t.Errorf("tcId %d: unclassified error %v", tc.TcID, err)
			}
			if err == nil {
				accepted++
			}
		}
	}
	if ran != 401 || accepted < 20 {
		t.Errorf("ran %d vectors, %d verified; want 401 and at least 20", ran, accepted)
	}
}

// wycheproofVerifier builds a Verifier over a group's key. A public JWK (or
// a keyset) goes through ParseJWKS; an unusable one leaves no key. An oct
// key becomes the configured HS256 secret.
func wycheproofVerifier(tb testing.TB, public, private json.RawMessage) *Verifier {
	tb.Helper()
	var ks *JWKS
	var one jwk
	if public != nil && json.Unmarshal(public, &one) == nil {
		ks, _ = ParseJWKS(jwksDoc(tb, one)) // nil when the key is unusable: every token fails
	}
	cfg := VerifierConfig{}
	var oct struct{ Kty, Kid, K string }
	if json.Unmarshal(private, &oct) == nil && oct.Kty == "oct" {
		secret, _ := b64(oct.K)
		cfg.HS256Secret, cfg.HS256KeyID = secret, oct.Kid
	}
	v, err := NewVerifierFrom(StaticKeys(ks), cfg)
	if err != nil {
		v, _ = NewVerifierFrom(StaticKeys(ks), VerifierConfig{})
	}
	return v
}

// jwsSignatureCheck runs Verify's header and signature steps on a vector.
func jwsSignatureCheck(v *Verifier, raw json.RawMessage) error {
	var token string
	if err := json.Unmarshal(raw, &token); err != nil {
		token = string(raw) // JSON serialization: not a compact JWS
	}
	if len(token) > maxTokenLen {
		return ErrMalformed
	}
	t, err := parseJWS(token)
	if err != nil {
		return err
	}
	_, err = v.checkSignature(context.Background(), t, v.src.Keys())
	return err
}

// rejectedValidJWK: valid in Wycheproof, refused by us on purpose.
var rejectedValidJWK = map[int]string{
	// HMAC keys in a JWKS: we never take a symmetric key from a key set
	// (HS256 needs VerifierConfig.HS256Secret), so these kids are unknown.
	2: "oct key in a JWKS", 13: "oct key in a JWKS", 14: "HS384, oct key in a JWKS", 15: "HS512, oct key in a JWKS",
}

// TestWycheproofJWK parses each group's key set with ParseJWKS (the public
// set when there is one) and verifies the vector's signature with it. An
// invalid case passes when ParseJWKS refuses the set or the check fails.
func TestWycheproofJWK(t *testing.T) {
	var vs wycheproofJOSE
	readVectors(t, "json_web_key_test.json", &vs)
	ran := 0
	for _, g := range vs.TestGroups {
		doc := g.Public
		if doc == nil {
			doc = g.Private
		}
		ks, parseErr := ParseJWKS(doc)
		v, _ := NewVerifierFrom(StaticKeys(ks), VerifierConfig{})
		for _, tc := range g.Tests {
			ran++
			err := parseErr
			if err == nil {
				err = jwsSignatureCheck(v, tc.JWS)
			}
			if _, allowed := rejectedValidJWK[tc.TcID]; allowed && tc.Result == "valid" {
				if err == nil {
					t.Errorf("tcId %d verified; drop it from rejectedValidJWK", tc.TcID)
				}
				continue
			}
			if (err == nil) != (tc.Result == "valid") {
				t.Errorf("tcId %d (%s, %s): err %v, want result %s", tc.TcID, g.Comment, tc.Comment, err, tc.Result)
			}
		}
	}
	if ran != 26 {
		t.Errorf("ran %d JWK vectors, want 26", ran)
	}
}
