package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

const (
	leafValidity = 90 * 24 * time.Hour
	// renewBefore: a leaf closer than this to its expiry is replaced, on
	// start and by the running server.
	renewBefore = 24 * time.Hour
)

// defaultHosts are the names a dev server certificate covers when none are given.
var defaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// ServerTLSConfig returns the server configuration for the dev CA in dir
// (made by EnsureCA if absent): TLSPolicy with h2 and http/1.1, serving a
// leaf for hosts (nil: localhost, 127.0.0.1 and ::1) to every client, with or without SNI.
// The leaf is reused from server.pem/server.key while it covers the hosts,
// chains to the current CA and stays valid for more than a day; otherwise a
// new one valid for 90 days is issued and written. The running server
// replaces its leaf a day before it expires.
func ServerTLSConfig(dir string, hosts []string) (*tls.Config, error) {
	hosts, err := normalizeHosts(hosts)
	if err != nil {
		return nil, fmt.Errorf("server tls: %w", err)
	}
	if _, err := EnsureCA(dir); err != nil {
		return nil, fmt.Errorf("server tls: %w", err)
	}
	src := &leafSource{dir: dir, hosts: hosts, now: time.Now}
	if src.cert, err = src.currentOrIssue(); err != nil {
		return nil, fmt.Errorf("server tls: %w", err)
	}
	cfg := TLSPolicy()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	cfg.GetCertificate = src.getCertificate
	return cfg, nil
}

// leafSource hands out the server leaf and renews it when it nears expiry.
type leafSource struct {
	dir   string
	hosts []string
	now   func() time.Time

	mu   sync.Mutex
	cert *tls.Certificate
}

// getCertificate ignores the SNI on purpose: the dev leaf is the only one,
// and clients connecting to an IP send none.
func (s *leafSource) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.cert.Leaf.NotAfter.Sub(now) > renewBefore {
		return s.cert, nil
	}
	fresh, err := s.currentOrIssue()
	switch {
	case err == nil:
		s.cert = fresh
	case now.After(s.cert.Leaf.NotAfter):
		return nil, fmt.Errorf("renew server certificate: %w", err)
	}
	return s.cert, nil // a failed renewal keeps the still-valid leaf
}

// currentOrIssue returns the leaf on disk if still good, else issues one.
func (s *leafSource) currentOrIssue() (*tls.Certificate, error) {
	ca, caKey, err := loadCA(s.dir)
	if err != nil {
		return nil, err
	}
	certPath, keyPath := filepath.Join(s.dir, ServerCertFile), filepath.Join(s.dir, ServerKeyFile)
	now := s.now()
	if cert, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && leafUsable(cert, ca, s.hosts, now) {
		return &cert, nil
	}
	certPEM, keyPEM, err := issueLeaf(ca, caKey, s.hosts, now, leafValidity)
	if err != nil {
		return nil, err
	}
	// Key first: a reader that sees the new cert with the old key fails the
	// pair check and issues again, never serves a mismatch.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("issued pair: %w", err)
	}
	return &cert, nil
}

// leafUsable reports whether a stored pair can be served: it chains to ca
// (and carries it), covers every host and is valid for more than renewBefore.
func leafUsable(cert tls.Certificate, ca *x509.Certificate, hosts []string, now time.Time) bool {
	leaf := cert.Leaf
	if leaf == nil || len(cert.Certificate) < 2 || !bytes.Equal(cert.Certificate[1], ca.Raw) {
		return false
	}
	if now.Before(leaf.NotBefore) || leaf.NotAfter.Sub(now) <= renewBefore {
		return false
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// issueLeaf makes a P-256 server key and a certificate for hosts signed by
// the CA, and returns the PEM chain (leaf, CA) and the PEM PKCS #8 key.
func issueLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("issue server certificate: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"Reelguard"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter // a leaf cannot outlive its CA
	}
	tmpl.DNSNames, tmpl.IPAddresses = splitHosts(hosts)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("issue server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue server certificate: %w", err)
	}
	certPEM = append(pemBytes("CERTIFICATE", der), pemBytes("CERTIFICATE", ca.Raw)...)
	return certPEM, pemBytes("PRIVATE KEY", keyDER), nil
}
