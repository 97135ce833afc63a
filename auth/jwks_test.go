package auth

import (
	"os"
	"path/filepath"
	"slices"
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
		{"unsupported keys skipped", `{"keys":[{"kty":"RSA","kid":"r","alg":"RS256","n":"AQAB","e":"AQAB"},{"kty":"oct","kid":"h","alg":"HS256","k":"c2VjcmV0"},{"kty":"OKP","crv":"X25519","kid":"x",` + testX + `},{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA",` + testX + `}]}`, []string{"a"}},
		{"enc key skipped", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"e","alg":"EdDSA","use":"enc",` + testX + `},{"kty":"OKP","crv":"Ed25519","kid":"a","alg":"EdDSA","key_ops":["verify"],` + testX2 + `}]}`, []string{"a"}},
		{"key_ops without verify skipped", `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"s","alg":"EdDSA","key_ops":["sign"],` + testX + `}]}`, nil},
		{"only rsa", `{"keys":[{"kty":"RSA","kid":"r","alg":"RS256","n":"AQAB","e":"AQAB"}]}`, nil},
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
