package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Project Wycheproof vectors (testdata/wycheproof, Apache-2.0).

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

// TestWycheproofEd25519 loads each group's key through ParseJWKS and checks
// every case with the EdDSA method Verify uses: valid cases verify, invalid
// ones (malleable S, bad encodings, truncations) do not. Every case is
// "valid" or "invalid" in this file; none is skipped.
func TestWycheproofEd25519(t *testing.T) {
	var vs wycheproofEd25519
	readVectors(t, "ed25519_test.json", &vs)
	n := 0
	for _, g := range vs.TestGroups {
		k := g.PublicKeyJwk
		k.Alg = "EdDSA" // Wycheproof's JWKs carry no alg; ours must
		doc, _ := json.Marshal(jwkSet{Keys: []jwk{k}})
		ks, err := ParseJWKS(doc)
		if err != nil {
			t.Fatalf("ParseJWKS(%s): %v", doc, err)
		}
		pub := ks.keys[k.Kid].pub
		for _, tc := range g.Tests {
			msg, _ := hex.DecodeString(tc.Msg)
			sig, _ := hex.DecodeString(tc.Sig)
			err := jwt.SigningMethodEdDSA.Verify(string(msg), sig, pub)
			if ok := err == nil; ok != (tc.Result == "valid") {
				t.Errorf("tcId %d (%s): verified=%v, want result %s", tc.TcID, tc.Comment, ok, tc.Result)
			}
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d Ed25519 cases ran", n)
	}
}

type wycheproofJWS struct {
	TestGroups []struct {
		Tests []struct {
			TcID    int             `json:"tcId"`
			Comment string          `json:"comment"`
			JWS     json.RawMessage `json:"jws"`
			Result  string          `json:"result"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// TestWycheproofJWSRejected binds every kid the vectors use to one of our
// EdDSA keys. None of the 401 tokens is EdDSA, so every one, valid in its own
// keyset or not, must be refused; a compact token naming one of our kids must
// be refused as bad_signature (the algorithm is pinned to the key).
func TestWycheproofJWSRejected(t *testing.T) {
	var vs wycheproofJWS
	readVectors(t, "json_web_signature_test.json", &vs)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	ks := &JWKS{keys: map[string]verifyKey{}}
	type vector struct {
		id      int
		token   string
		compact bool
	}
	var vectors []vector
	for _, g := range vs.TestGroups {
		for _, tc := range g.Tests {
			var token string
			compact := json.Unmarshal(tc.JWS, &token) == nil
			if !compact {
				token = string(tc.JWS) // JSON serialization: must be malformed to us
			}
			if kid := vectorKid(token); kid != "" {
				ks.keys[kid] = verifyKey{alg: "EdDSA", pub: pub}
			}
			vectors = append(vectors, vector{tc.TcID, token, compact})
		}
	}
	v := NewVerifier(ks, VerifierConfig{})
	pinned := 0
	for _, vec := range vectors {
		p, err := v.Verify(vec.token)
		if err == nil {
			t.Errorf("tcId %d accepted as %+v", vec.id, p)
			continue
		}
		reason := Reason(err)
		if reason == "unauthenticated" {
			t.Errorf("tcId %d: unclassified error %v", vec.id, err)
		}
		if _, ours := ks.keys[vectorKid(vec.token)]; ours && vec.compact && reason == "bad_signature" {
			pinned++
		}
	}
	if len(vectors) != 401 || pinned < 300 {
		t.Errorf("ran %d vectors, %d refused by algorithm pinning; want 401 and most", len(vectors), pinned)
	}
}

// vectorKid returns the kid of a compact JWS header, or "".
func vectorKid(token string) string {
	seg, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return ""
	}
	var h struct {
		Kid string `json:"kid"`
	}
	json.Unmarshal(raw, &h)
	return h.Kid
}
