package auth

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func mode(tb testing.TB, path string) fs.FileMode {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatalf("stat: %v", err)
	}
	return fi.Mode().Perm()
}

func TestEnsureKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	created, err := EnsureKeys(dir)
	if err != nil || !created {
		t.Fatalf("first EnsureKeys = %v, %v; want true, nil", created, err)
	}
	for path, want := range map[string]fs.FileMode{
		dir:                                0o700,
		filepath.Join(dir, PrivateKeyFile): 0o600,
		filepath.Join(dir, JWKSFile):       0o644,
	} {
		if got := mode(t, path); got != want {
			t.Errorf("mode of %s = %v, want %v", filepath.Base(path), got, want)
		}
	}
	keyBefore, _ := os.ReadFile(filepath.Join(dir, PrivateKeyFile))
	created, err = EnsureKeys(dir)
	if err != nil || created {
		t.Fatalf("second EnsureKeys = %v, %v; want false, nil", created, err)
	}
	if keyAfter, _ := os.ReadFile(filepath.Join(dir, PrivateKeyFile)); !bytes.Equal(keyBefore, keyAfter) {
		t.Error("second EnsureKeys replaced jwt.key")
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(matches) != 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

func TestEnsureKeysJWKSMatchesKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := EnsureKeys(dir); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, JWKSFile))
	var set jwkSet
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks.json = %s (%v), want one key", raw, err)
	}
	k := set.Keys[0]
	pub := s.key.Public().(ed25519.PublicKey)
	if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || k.Use != "sig" || k.D != "" {
		t.Errorf("jwks key = %+v", k)
	}
	if k.Kid != s.KeyID() || k.Kid != KeyID(pub) {
		t.Errorf("jwks kid %q, signer kid %q, KeyID %q: want all equal", k.Kid, s.KeyID(), KeyID(pub))
	}
	// A lost jwks.json is rebuilt from the key, with the same kid.
	os.Remove(filepath.Join(dir, JWKSFile))
	if created, err := EnsureKeys(dir); err != nil || !created {
		t.Fatalf("EnsureKeys without jwks.json = %v, %v", created, err)
	}
	ks, err := LoadJWKS(filepath.Join(dir, JWKSFile))
	if err != nil || len(ks.KeyIDs()) != 1 || ks.KeyIDs()[0] != s.KeyID() {
		t.Fatalf("rebuilt jwks = %v, %v; want kid %s", ks, err, s.KeyID())
	}
}

func TestEnsureKeysLeavesForeignJWKS(t *testing.T) {
	dir := t.TempDir()
	foreign := []byte(`{"keys":[]}`)
	os.WriteFile(filepath.Join(dir, JWKSFile), foreign, 0o644)
	created, err := EnsureKeys(dir)
	if err != nil || created {
		t.Fatalf("EnsureKeys = %v, %v; want false, nil", created, err)
	}
	if _, err := os.Stat(filepath.Join(dir, PrivateKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("jwt.key created next to a foreign jwks.json: %v", err)
	}
}

func TestLoadSignerRejects(t *testing.T) {
	good := filepath.Join(t.TempDir(), "keys")
	if _, err := EnsureKeys(good); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(good, PrivateKeyFile))
	var k jwk
	json.Unmarshal(raw, &k)
	other := k
	other.X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	for _, tc := range []struct {
		name string
		edit func(*jwk)
	}{
		{"x does not match d", func(j *jwk) { j.X = other.X }},
		{"short d", func(j *jwk) { j.D = "AAAA" }},
		{"no d", func(j *jwk) { j.D = "" }},
		{"wrong alg", func(j *jwk) { j.Alg = "HS256" }},
		{"no kid", func(j *jwk) { j.Kid = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := k
			tc.edit(&j)
			dir := t.TempDir()
			data, _ := json.Marshal(j)
			os.WriteFile(filepath.Join(dir, PrivateKeyFile), data, 0o600)
			if s, err := LoadSigner(dir); err == nil {
				t.Errorf("LoadSigner = %v, want an error", s)
			}
		})
	}
}

func TestSecretsStayOutOfLogs(t *testing.T) {
	k := newTestKeys(t)
	raw, _ := os.ReadFile(filepath.Join(k.dir, PrivateKeyFile))
	var priv jwk
	json.Unmarshal(raw, &priv)
	tok, _ := k.signer.Mint("42", "admin", time.Hour)
	p, _ := k.verifier.Verify(tok)

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("auth", "principal", p, "signer", k.signer)
	fmt.Fprintf(&buf, "%v %+v %#v %s", k.signer, k.signer, k.signer, k.signer)
	out := buf.String()
	for _, secret := range []string{priv.D, tok, strings.Split(tok, ".")[2]} {
		if strings.Contains(out, secret) {
			t.Errorf("output leaks %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"sub":"42"`, `"role":"admin"`, `"jti":"` + p.TokenID, k.signer.KeyID()} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

// Processes racing to make the keys must agree on one key pair.
func TestEnsureKeysConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var wg sync.WaitGroup
	results := make(chan bool, 8)
	for range 8 {
		wg.Go(func() {
			created, err := EnsureKeys(dir)
			if err != nil {
				t.Errorf("EnsureKeys: %v", err)
			}
			results <- created
		})
	}
	wg.Wait()
	close(results)
	anyCreated := false
	for c := range results {
		anyCreated = anyCreated || c
	}
	s, err := LoadSigner(dir)
	if err != nil || !anyCreated {
		t.Fatalf("LoadSigner: %v (created by any: %v)", err, anyCreated)
	}
	ks, err := LoadJWKS(filepath.Join(dir, JWKSFile))
	if err != nil || !slices.Equal(ks.KeyIDs(), []string{s.KeyID()}) {
		t.Fatalf("jwks kids %v, %v; want the signer's %s", ks.KeyIDs(), err, s.KeyID())
	}
}
