package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/certs"
	"github.com/reelguard/reelguard/events"
)

// secretVolume lays out files as the kubelet does: the data in a
// timestamped folder, ..data pointing at it, each name a symlink through
// ..data, group-readable.
func secretVolume(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	stamp := filepath.Join(dir, "..2026_11_25_22_00_00.000000001")
	if err := os.Mkdir(stamp, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(stamp, name), b, 0o440); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Base(stamp), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestInstallGatewayKeys makes keys as `gateway keys` does, passes them
// through a Secret volume and checks the data folder gets them back, private
// and where the binaries load them from.
func TestInstallGatewayKeys(t *testing.T) {
	orig := t.TempDir()
	for _, step := range []struct {
		dir    string
		ensure func(string) (bool, error)
	}{
		{"keys", auth.EnsureKeys}, {"keys", events.EnsureKeys}, {"ca", certs.EnsureCA},
		{filepath.Join("keys", "internal-ca"), certs.EnsureInternalCA},
	} {
		if _, err := step.ensure(filepath.Join(orig, step.dir)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string][]byte{}
	for name, rel := range layout {
		b, err := os.ReadFile(filepath.Join(orig, rel))
		if err != nil {
			t.Fatalf("`gateway keys` made no %s: %v", rel, err)
		}
		files[name] = b
	}
	data := t.TempDir()
	n, err := install(secretVolume(t, files), data)
	if err != nil || n != len(layout) {
		t.Fatalf("install: %d files, %v; want %d", n, err, len(layout))
	}
	for name, rel := range layout {
		got, err := os.ReadFile(filepath.Join(data, rel))
		if err != nil || !bytes.Equal(got, files[name]) {
			t.Errorf("%s: %v, or its bytes differ", rel, err)
		}
		if info, err := os.Stat(filepath.Join(data, rel)); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", rel, info.Mode().Perm(), err)
		}
	}
	if _, err := events.LoadRequestLogSigner(filepath.Join(data, "keys")); err != nil {
		t.Errorf("the gateway would refuse the installed request-log key: %v", err)
	}
	if _, err := certs.MTLSClientConfig(certs.MTLSConfig{CADir: filepath.Join(data, "keys", "internal-ca")}); err != nil {
		t.Errorf("the installed internal CA does not load: %v", err)
	}
}

func TestInstallRefuses(t *testing.T) {
	cases := []struct {
		name  string
		files map[string][]byte
		want  error
	}{
		{"unknown file", map[string][]byte{events.KeysetFile: []byte("{}"), "id_rsa": []byte("x")}, errUnknownFile},
		{"empty volume", map[string][]byte{}, errNoKeys},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := install(secretVolume(t, tc.files), t.TempDir()); !errors.Is(err, tc.want) {
				t.Errorf("install: %v, want %v", err, tc.want)
			}
		})
	}
}
