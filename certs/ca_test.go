package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"io/fs"
	"os"
	"path/filepath"
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

func newCA(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "ca")
	if _, err := EnsureCA(dir); err != nil {
		tb.Fatalf("EnsureCA: %v", err)
	}
	return dir
}

func TestEnsureCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	created, err := EnsureCA(dir)
	if err != nil || !created {
		t.Fatalf("first EnsureCA = %v, %v; want true, nil", created, err)
	}
	for name, want := range map[string]fs.FileMode{".": 0o700, CAKeyFile: 0o600, CACertFile: 0o644} {
		if got := mode(t, filepath.Join(dir, name)); got != want {
			t.Errorf("mode of %s = %v, want %v", name, got, want)
		}
	}
	certBefore, _ := os.ReadFile(filepath.Join(dir, CACertFile))
	keyBefore, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if created, err := EnsureCA(dir); err != nil || created {
		t.Fatalf("second EnsureCA = %v, %v; want false, nil", created, err)
	}
	certAfter, _ := os.ReadFile(filepath.Join(dir, CACertFile))
	keyAfter, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if !bytes.Equal(certBefore, certAfter) || !bytes.Equal(keyBefore, keyAfter) {
		t.Error("second EnsureCA rewrote the CA")
	}

	ca, key, err := loadCA(dir)
	if err != nil {
		t.Fatalf("loadCA: %v", err)
	}
	if ca.Subject.CommonName != "Reelguard dev CA" || !ca.IsCA || !ca.BasicConstraintsValid || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA = %v IsCA=%v usage=%v", ca.Subject, ca.IsCA, ca.KeyUsage)
	}
	if key.Curve != elliptic.P256() {
		t.Errorf("CA curve = %v, want P-256", key.Curve.Params().Name)
	}
	if life := ca.NotAfter.Sub(ca.NotBefore); life < 9*365*24*time.Hour || life > 11*365*24*time.Hour {
		t.Errorf("CA validity %v, want about 10 years", life)
	}
	if err := ca.CheckSignatureFrom(ca); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
	if pool, err := CAPool(dir); err != nil || !pool.Equal(poolOf(ca)) {
		t.Errorf("CAPool = %v, %v; want a pool of the CA", pool, err)
	}
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func TestEnsureCARefusesCertWithoutKey(t *testing.T) {
	dir := newCA(t)
	os.Remove(filepath.Join(dir, CAKeyFile))
	if _, err := EnsureCA(dir); err == nil {
		t.Fatal("EnsureCA with ca.pem but no ca.key: want an error")
	}
	if ok, _ := exists(filepath.Join(dir, CAKeyFile)); ok {
		t.Error("EnsureCA made a ca.key that does not match ca.pem")
	}
}

func TestEnsureCACertifiesExistingKey(t *testing.T) {
	dir := newCA(t)
	_, key, _ := loadCA(dir)
	os.Remove(filepath.Join(dir, CACertFile))
	if created, err := EnsureCA(dir); err != nil || !created {
		t.Fatalf("EnsureCA without ca.pem = %v, %v", created, err)
	}
	ca, _, err := loadCA(dir)
	if err != nil || !ca.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Fatalf("new ca.pem does not certify the existing key: %v", err)
	}
}

func TestCAPoolErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := CAPool(dir); err == nil {
		t.Error("missing ca.pem: want an error")
	}
	os.WriteFile(filepath.Join(dir, CACertFile), []byte("not pem"), 0o644)
	if _, err := CAPool(dir); err == nil {
		t.Error("garbage ca.pem: want an error")
	}
}

// Processes racing to make the CA must end with a certificate for the key on disk.
func TestEnsureCAConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := EnsureCA(dir); err != nil {
				t.Errorf("EnsureCA: %v", err)
			}
		})
	}
	wg.Wait()
	if _, _, err := loadCA(dir); err != nil {
		t.Fatalf("after racing EnsureCA: %v", err)
	}
}
