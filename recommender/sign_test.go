package recommender_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func TestEnsureSigningKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	created, err := recommender.EnsureSigningKey(dir)
	if err != nil || !created {
		t.Fatalf("EnsureSigningKey = %v, %v; want created", created, err)
	}
	for path, want := range map[string]os.FileMode{
		dir: 0o700, filepath.Join(dir, recommender.SigningKeyFile): 0o600, filepath.Join(dir, recommender.VerifyKeyFile): 0o644,
	} {
		info, err := os.Stat(path)
		if err != nil || info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, info.Mode().Perm(), err, want)
		}
	}
	before, _ := os.ReadFile(filepath.Join(dir, recommender.SigningKeyFile))
	if created, err := recommender.EnsureSigningKey(dir); err != nil || created {
		t.Fatalf("second EnsureSigningKey = %v, %v; want not created", created, err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, recommender.SigningKeyFile)); !bytes.Equal(before, after) {
		t.Fatal("EnsureSigningKey replaced an existing key")
	}
	priv, err := recommender.LoadSigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A lost public key is derived again from the private one.
	os.Remove(filepath.Join(dir, recommender.VerifyKeyFile))
	if _, err := recommender.EnsureSigningKey(dir); err != nil {
		t.Fatal(err)
	}
	pub, err := recommender.LoadVerifyKey(dir)
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("LoadVerifyKey = %v, %v; want the signing key's public half", pub, err)
	}
}

func TestLoadKeyRejects(t *testing.T) {
	tests := []struct {
		name  string
		setup func(tb testing.TB, dir string)
		load  func(dir string) error
		want  error
	}{
		{"no private key", func(testing.TB, string) {}, loadPriv, recommender.ErrNoKey},
		{"no public key", func(testing.TB, string) {}, loadPub, recommender.ErrNoKey},
		{"private key readable by others", func(tb testing.TB, dir string) {
			mustEnsure(tb, dir)
			os.Chmod(filepath.Join(dir, recommender.SigningKeyFile), 0o644)
		}, loadPriv, recommender.ErrBadKey},
		{"private key not PEM", func(tb testing.TB, dir string) {
			os.WriteFile(filepath.Join(dir, recommender.SigningKeyFile), []byte("secret"), 0o600)
		}, loadPriv, recommender.ErrBadKey},
		{"public key with trailing junk", func(tb testing.TB, dir string) {
			mustEnsure(tb, dir)
			f, _ := os.OpenFile(filepath.Join(dir, recommender.VerifyKeyFile), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("junk")
			f.Close()
		}, loadPub, recommender.ErrBadKey},
		{"private key in the public file", func(tb testing.TB, dir string) {
			mustEnsure(tb, dir)
			data, _ := os.ReadFile(filepath.Join(dir, recommender.SigningKeyFile))
			os.WriteFile(filepath.Join(dir, recommender.VerifyKeyFile), data, 0o644)
		}, loadPub, recommender.ErrBadKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			if err := tc.load(dir); !errors.Is(err, tc.want) {
				t.Fatalf("load = %v, want %v", err, tc.want)
			}
		})
	}
}

func mustEnsure(tb testing.TB, dir string) {
	tb.Helper()
	if _, err := recommender.EnsureSigningKey(dir); err != nil {
		tb.Fatal(err)
	}
}

func loadPriv(dir string) error { _, err := recommender.LoadSigningKey(dir); return err }
func loadPub(dir string) error  { _, err := recommender.LoadVerifyKey(dir); return err }

// TestSaveWithKeysDir signs with a keys folder's key (made on the spot) and
// loads with the same folder.
func TestSaveWithKeysDir(t *testing.T) {
	keys, dir := filepath.Join(t.TempDir(), "keys"), t.TempDir()
	if err := recommender.Save(dir, trainSmall(t), recommender.SaveOptions{KeysDir: keys}); err != nil {
		t.Fatal(err)
	}
	if _, err := recommender.LoadWith(dir, recommender.LoadOptions{KeysDir: keys}); err != nil {
		t.Fatal(err)
	}
}
