package auth

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	testX  = `"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"`
	testX2 = `"x":"fU0Of2FTpptiQrUiq77mhf2kQg-INLEIw72uNp71Sfo"`
)

func TestParseJWKS(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		kids      []string // nil: want an error
	}{
		{"one key", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA",` + testX + `}]}`, []string{"a"}},
		{"two keys", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"b","alg":"EdDSA","use":"sig",` + testX + `},{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA",` + testX2 + `}]}`, []string{"a", "b"}},
		{"unsupported keys skipped", `{"keys":[{"kty":"RSA","kid":"r","alg":"RS384","n":"AQAB","e":"AQAB"},{"kty":"oct","kid":"h","alg":"HS256","k":"c2VjcmV0"},{"kty":"OKP","crv":"X25519","kid":"x",` + testX + `},{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA",` + testX + `}]}`, []string{"a"}},
		{"enc key skipped", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"e","alg":"EdDSA","use":"enc",` + testX + `},{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA","key_ops":["verify"],` + testX2 + `}]}`, []string{"a"}},
		{"key_ops without verify skipped", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"s","alg":"EdDSA","key_ops":["sign"],` + testX + `}]}`, nil},
		{"only rsa384", `{"keys":[{"kty":"RSA","kid":"r","alg":"RS384","n":"AQAB","e":"AQAB"}]}`, nil},
		{"tiny rsa256", `{"keys":[{"kty":"RSA","kid":"r","alg":"RS256","n":"AQAB","e":"AQAB"}]}`, nil},
		{"duplicate member", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","kid":"b","alg":"EdDSA",` + testX + `}]}`, nil},
		{"member differs in case", `{"keys":[{"kty":"OKP","crv":"Ed25519","KID":"a","alg":"EdDSA",` + testX + `}]}`, nil},
		{"trailing data", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA",` + testX + `}]} {}`, nil},
		{"kid with newline", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a\nb","alg":"EdDSA",` + testX + `}]}`, nil},
		{"EdDSA on an EC key", `{"keys":[{"kty":"EC","crv":"P-256","kid":"a","alg":"EdDSA",` + testX + `}]}`, nil},
		{"empty", `{"keys":[]}`, nil},
		{"not json", `keys`, nil},
		{"private material", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA",` + testX + `,"d":"AAAA"}]}`, nil},
		{"duplicate kid", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA",` + testX + `},{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA",` + testX2 + `}]}`, nil},
		{"no alg", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a",` + testX + `}]}`, nil},
		{"alg HS256 on an OKP key", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"HS256",` + testX + `}]}`, nil},
		{"no kid", `{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA",` + testX + `}]}`, nil},
		{"short x", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA","x":"AAAA"}]}`, nil},
		{"padded x", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="}]}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := ParseJWKS([]byte(tc.doc))
			if tc.kids == nil {
				if err == nil {
					t.Fatalf("ParseJWKS = %v, want an error", ks.KeyIDs())
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseJWKS: %v", err)
			}
			if got := ks.KeyIDs(); !slices.Equal(got, tc.kids) {
				t.Errorf("kids = %v, want %v", got, tc.kids)
			}
		})
	}
}

func TestLoadJWKSErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadJWKS(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: want an error")
	}
	big := filepath.Join(dir, "big.json")
	os.WriteFile(big, make([]byte, maxJWKSSize+1), 0o644)
	if _, err := LoadJWKS(big); err == nil {
		t.Error("oversized file: want an error")
	}
}

// TestParseJWKSKeyTypes covers ES256, RS256 and PS256 keys and what makes
// one unusable.
func TestParseJWKSKeyTypes(t *testing.T) {
	rsaA, _, weak := testRSAKeys(t)
	ec := newECKey(t)
	good := []jwk{ecJWK("ec", &ec.PublicKey), rsaJWK("rs", algRS256, &rsaA.PublicKey), rsaJWK("ps", algPS256, &rsaA.PublicKey)}
	ks := mustParseJWKS(t, jwksDoc(t, good...))
	for kid, alg := range map[string]string{"ec": algES256, "rs": algRS256, "ps": algPS256} {
		if got, ok := ks.Algorithm(kid); !ok || got != alg {
			t.Errorf("Algorithm(%s) = %q, %v; want %s", kid, got, ok, alg)
		}
	}
	offCurve := ecJWK("ec", &ec.PublicKey)
	offCurve.Y = offCurve.X
	leadingZero := rsaJWK("rs", algRS256, &rsaA.PublicKey)
	leadingZero.N = b64url(append([]byte{0}, rsaA.PublicKey.N.Bytes()...))
	for _, tc := range []struct {
		name, want string
		key        jwk
	}{
		{"1024-bit modulus", "modulus of 1024 bits", rsaJWK("rs", algRS256, &weak.PublicKey)},
		{"exponent 1", "exponent", func() jwk { k := rsaJWK("rs", algRS256, &rsaA.PublicKey); k.E = "AQ"; return k }()},
		{"exponent 3", "exponent", func() jwk { k := rsaJWK("rs", algRS256, &rsaA.PublicKey); k.E = "Aw"; return k }()},
		{"modulus with a leading zero", "leading zero", leadingZero},
		{"point off the curve", "not on P-256", offCurve},
		{"ES256 on P-384", "crv P-256", func() jwk { k := ecJWK("ec", &ec.PublicKey); k.Crv = "P-384"; return k }()},
		{"RS256 on an EC key", "kty RSA", func() jwk { k := ecJWK("ec", &ec.PublicKey); k.Alg = algRS256; return k }()},
		{"private RSA material", "private material", func() jwk { k := rsaJWK("rs", algRS256, &rsaA.PublicKey); k.D = "AQAB"; return k }()},
		{"kid of 257 bytes", "longer than 256", rsaJWK(strings.Repeat("k", 257), algRS256, &rsaA.PublicKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJWKS(jwksDoc(t, tc.key))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseJWKS = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// The Wycheproof ROCA key must be refused for its fingerprint, not by luck.
func TestParseJWKSRefusesROCAKey(t *testing.T) {
	var vs wycheproofJOSE
	readVectors(t, "json_web_key_test.json", &vs)
	for _, g := range vs.TestGroups {
		if g.Comment == "jws_rsa_roca_key" {
			if _, err := ParseJWKS(g.Public); err == nil || !strings.Contains(err.Error(), "ROCA") {
				t.Errorf("ParseJWKS(roca key) = %v, want the ROCA fingerprint error", err)
			}
			return
		}
	}
	t.Fatal("no jws_rsa_roca_key group")
}

func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA",` + testX + `}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"e","alg":"ES256","x":"04N0xi21hshyvBp7I167sbE_bXqyqkAPfefdklMO7wY","y":"UI8exy-C06a7DUnjIdENkxeFtHM4-l_41LqEw9nVgmw"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"r","alg":"RS256","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"a":{"b":[1,2,{"c":null}]}}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		ks, err := ParseJWKS(doc)
		if err != nil {
			return
		}
		for _, kid := range ks.KeyIDs() {
			k := ks.keys[kid]
			if checkKid(kid) != nil || k.pub == nil {
				t.Fatalf("accepted kid %q with key %#v", kid, k)
			}
			switch k.alg {
			case algEdDSA, algES256, algRS256, algPS256:
			default:
				t.Fatalf("kid %q has alg %q", kid, k.alg)
			}
		}
	})
}
