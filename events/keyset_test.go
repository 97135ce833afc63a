package events

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestEnsureKeysAndLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	created, err := EnsureKeys(dir)
	if err != nil || !created {
		t.Fatalf("EnsureKeys = %v, %v", created, err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Join(dir, PrivateKeyFile), 0o600)
	keyBefore, _ := os.ReadFile(filepath.Join(dir, PrivateKeyFile))
	if created, err := EnsureKeys(dir); err != nil || created {
		t.Fatalf("second EnsureKeys = %v, %v", created, err)
	}
	if keyAfter, _ := os.ReadFile(filepath.Join(dir, PrivateKeyFile)); !bytes.Equal(keyBefore, keyAfter) {
		t.Fatal("second EnsureKeys replaced the key")
	}
	s, err := LoadSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeyset(filepath.Join(dir, KeysetFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := NewVerifier(ks, 0).Verify(signedRecord(t, s)); err != nil {
		t.Fatalf("record signed with the loaded key: %v", err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, KeysetFile))
	if bytes.Contains(data, []byte(`"key": "`+keyField(t, keyBefore)+`"`)) {
		t.Fatal("keyset file holds the private seed")
	}
}

func TestEnsureKeysRewritesMissingKeyset(t *testing.T) {
	dir := t.TempDir()
	if _, err := EnsureKeys(dir); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, KeysetFile))
	if created, err := EnsureKeys(dir); err != nil || !created {
		t.Fatalf("EnsureKeys = %v, %v", created, err)
	}
	s, err := LoadSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeyset(filepath.Join(dir, KeysetFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := NewVerifier(ks, 0).Verify(signedRecord(t, s)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestLoadKeysetHMACNeedsPrivateFile(t *testing.T) {
	s := newTestSigner(t, AlgHS256)
	data := []byte(`{"keys":[{"kid":"` + s.KeyID() + `","alg":"HS256","key":"` + s.VerifyKey().Key + `","status":"active"}]}`)
	path := filepath.Join(t.TempDir(), "hs.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyset(path); err == nil {
		t.Fatal("loaded a world-readable keyset holding an HMAC secret")
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeyset(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := NewVerifier(ks, 0).Verify(signedRecord(t, s)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestParseKeysetRejects(t *testing.T) {
	pub := newTestSigner(t, AlgEdDSA).VerifyKey().Key
	tests := map[string]string{
		"unknown field": `{"keys":[{"kid":"a","alg":"EdDSA","key":"` + pub + `","status":"active","x":1}]}`,
		"bad status":    `{"keys":[{"kid":"a","alg":"EdDSA","key":"` + pub + `","status":"on"}]}`,
		"no status":     `{"keys":[{"kid":"a","alg":"EdDSA","key":"` + pub + `"}]}`,
		"bad alg":       `{"keys":[{"kid":"a","alg":"RS256","key":"` + pub + `","status":"active"}]}`,
		"short key":     `{"keys":[{"kid":"a","alg":"EdDSA","key":"AAAA","status":"active"}]}`,
		"short secret":  `{"keys":[{"kid":"a","alg":"HS256","key":"AAAA","status":"active"}]}`,
		"empty kid":     `{"keys":[{"kid":"","alg":"EdDSA","key":"` + pub + `","status":"active"}]}`,
		"duplicate kid": `{"keys":[{"kid":"a","alg":"EdDSA","key":"` + pub + `","status":"active"},{"kid":"a","alg":"EdDSA","key":"` + pub + `","status":"revoked"}]}`,
		"trailing":      `{"keys":[]} {}`,
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseKeyset([]byte(data)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func assertMode(tb testing.TB, path string, want os.FileMode) {
	tb.Helper()
	info, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		tb.Fatalf("%s mode %v, want %v", path, got, want)
	}
}

func keyField(tb testing.TB, privateFile []byte) string {
	tb.Helper()
	i := bytes.Index(privateFile, []byte(`"key": "`))
	if i < 0 {
		tb.Fatalf("no key field in %s", PrivateKeyFile)
	}
	rest := privateFile[i+len(`"key": "`):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}
