package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// File names inside the CA directory ($REELGUARD_DATA/ca).
const (
	CACertFile     = "ca.pem"     // dev CA certificate, 0644
	CAKeyFile      = "ca.key"     // dev CA private key (PKCS #8), 0600
	ServerCertFile = "server.pem" // server leaf then the CA, 0644
	ServerKeyFile  = "server.key" // server private key (PKCS #8), 0600
)

const (
	caName         = "Reelguard dev CA"
	internalCAName = "Reelguard internal CA"
	caValidity     = 10 * 365 * 24 * time.Hour
)

// EnsureCA makes the dev CA in dir (created 0700 when absent): an ECDSA P-256
// self-signed certificate valid for ten years, allowed only to sign leaves.
// It does nothing when ca.pem and ca.key exist (created=false). A ca.pem
// without its ca.key is an error: the CA could not issue, and replacing it
// would break every client that trusts it.
func EnsureCA(dir string) (created bool, err error) {
	return ensureCA(dir, caName)
}

// EnsureInternalCA makes the internal mTLS CA in dir, as EnsureCA does the
// dev CA, under its own name: "Reelguard internal CA". Keep it apart from the
// dev CA, whose certificate is handed to public clients.
func EnsureInternalCA(dir string) (created bool, err error) {
	return ensureCA(dir, internalCAName)
}

func ensureCA(dir, name string) (created bool, err error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	haveCert, err := exists(certPath)
	if err != nil {
		return false, fmt.Errorf("ensure ca: %w", err)
	}
	haveKey, err := exists(keyPath)
	switch {
	case err != nil:
		return false, fmt.Errorf("ensure ca: %w", err)
	case haveCert && haveKey:
		return false, nil
	case haveCert:
		return false, fmt.Errorf("ensure ca: %s exists without %s", certPath, CAKeyFile)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("ensure ca: %w", err)
	}
	if !haveKey {
		if created, err = writeNewKey(keyPath); err != nil {
			return false, fmt.Errorf("ensure ca: %w", err)
		}
	}
	// Certify the key on disk: if another process won the race to write
	// ca.key, its key is the CA's.
	key, err := readKey(keyPath)
	if err != nil {
		return created, fmt.Errorf("ensure ca: %w", err)
	}
	der, err := selfSign(key, name, time.Now())
	if err != nil {
		return created, fmt.Errorf("ensure ca: %w", err)
	}
	wrote, err := writeFileExclusive(certPath, pemBytes("CERTIFICATE", der), 0o644)
	if err != nil {
		return created, fmt.Errorf("ensure ca: %w", err)
	}
	return created || wrote, nil
}

func selfSign(key *ecdsa.PrivateKey, name string, now time.Time) ([]byte, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Reelguard"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true, // signs leaves only, no intermediates
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("self-sign ca: %w", err)
	}
	return der, nil
}

// CAPool returns a pool holding the dev CA of dir, for clients.
func CAPool(dir string) (*x509.CertPool, error) {
	data, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, fmt.Errorf("ca pool: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("ca pool: no certificate in %s", CACertFile)
	}
	return pool, nil
}

// loadCA reads the CA certificate and key and checks they belong together.
func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, nil, fmt.Errorf("load ca: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("load ca: no certificate in %s", CACertFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("load ca: %w", err)
	}
	key, err := readKey(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("load ca: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errors.New("load ca: ca.key does not match ca.pem")
	}
	return cert, key, nil
}

func writeNewKey(path string) (bool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return false, err
	}
	return writeFileExclusive(path, pemBytes("PRIVATE KEY", der), 0o600)
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: no PKCS #8 private key", filepath.Base(path))
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ECDSA key", filepath.Base(path))
	}
	return key, nil
}

func pemBytes(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return serial, nil
}
