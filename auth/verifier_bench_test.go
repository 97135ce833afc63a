package auth

import (
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkVerify compares a cache hit (the same token again, as a client
// reusing its token does) with a full signature check (cache off).
func BenchmarkVerify(b *testing.B) {
	k := newTestKeys(b)
	tok, err := k.signer.Mint("42", "user", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	ks, err := LoadJWKS(filepath.Join(k.dir, JWKSFile))
	if err != nil {
		b.Fatal(err)
	}
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
