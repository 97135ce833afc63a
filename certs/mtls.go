package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"sync"
	"time"
)

// InternalServerName is the identity in the internal service's server
// certificate, and the name mTLS clients verify whatever address they dial
// (127.0.0.1:8082, a Kubernetes Service name, ...): the peer is known by the
// internal CA's signature and this name, not by where it was reached.
const InternalServerName = "recommender.reelguard.internal"

const (
	defaultMTLSValidity = 24 * time.Hour
	// clockSkew backdates each leaf so a peer whose clock runs a little
	// behind still accepts it.
	clockSkew = 5 * time.Minute
)

// MTLSConfig configures one side of mutual TLS with the internal CA. Each
// side issues itself a short-lived leaf in memory (never written to disk)
// and replaces it on the first handshake after two thirds of its lifetime,
// so certificates rotate without a restart.
type MTLSConfig struct {
	// CADir holds the internal CA (ca.pem, ca.key), made by EnsureInternalCA.
	// Required.
	CADir string
	// ServerName is the server's identity: the DNS name in its leaf (beside
	// localhost, 127.0.0.1 and ::1) and the name clients verify.
	// Default InternalServerName.
	ServerName string
	// ClientName is the Common Name of a client's leaf. Default "reelguard-client".
	ClientName string
	// Validity is each leaf's lifetime. Default 24h.
	Validity time.Duration
	// Now is the clock for issuing, renewing and verifying. Default time.Now.
	Now func() time.Time
}

func (c MTLSConfig) withDefaults() MTLSConfig {
	if c.ServerName == "" {
		c.ServerName = InternalServerName
	}
	if c.ClientName == "" {
		c.ClientName = "reelguard-client"
	}
	if c.Validity <= 0 {
		c.Validity = defaultMTLSValidity
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// MTLSServerConfig returns the server side: TLS 1.3 only, a leaf for
// ServerName, and every client required to present a certificate issued by
// the internal CA for client authentication; any other client is refused
// during the handshake.
func MTLSServerConfig(c MTLSConfig) (*tls.Config, error) {
	c = c.withDefaults()
	ca, leaves, err := newRotatingLeaf(c, func(now time.Time) *x509.Certificate {
		t := leafTemplate(c.ServerName, now, c.Validity, x509.ExtKeyUsageServerAuth)
		t.DNSNames, t.IPAddresses = splitHosts(append([]string{c.ServerName}, defaultHosts...))
		return t
	})
	if err != nil {
		return nil, fmt.Errorf("mtls server: %w", err)
	}
	cfg := TLSPolicy()
	cfg.MinVersion = tls.VersionTLS13 // both ends are ours
	cfg.NextProtos = []string{"h2", "http/1.1"}
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.ClientCAs = certPool(ca)
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return leaves.get() }
	cfg.Time = c.Now
	return cfg, nil
}

// MTLSClientConfig returns the client side: TLS 1.3 only, trusting only the
// internal CA, verifying ServerName, and presenting a client leaf.
func MTLSClientConfig(c MTLSConfig) (*tls.Config, error) {
	c = c.withDefaults()
	ca, leaves, err := newRotatingLeaf(c, func(now time.Time) *x509.Certificate {
		return leafTemplate(c.ClientName, now, c.Validity, x509.ExtKeyUsageClientAuth)
	})
	if err != nil {
		return nil, fmt.Errorf("mtls client: %w", err)
	}
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		CurvePreferences:     TLSPolicy().CurvePreferences,
		RootCAs:              certPool(ca),
		ServerName:           c.ServerName,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return leaves.get() },
		Time:                 c.Now,
	}, nil
}

// rotatingLeaf hands out a leaf signed by the CA, issuing a new one once two
// thirds of the current one's lifetime have passed.
type rotatingLeaf struct {
	ca       *x509.Certificate
	caKey    *ecdsa.PrivateKey
	template func(now time.Time) *x509.Certificate
	validity time.Duration
	now      func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	renewAt time.Time
}

func newRotatingLeaf(c MTLSConfig, template func(time.Time) *x509.Certificate) (*x509.Certificate, *rotatingLeaf, error) {
	ca, caKey, err := loadCA(c.CADir)
	if err != nil {
		return nil, nil, err
	}
	r := &rotatingLeaf{ca: ca, caKey: caKey, template: template, validity: c.Validity, now: c.Now}
	if _, err := r.get(); err != nil {
		return nil, nil, err
	}
	return ca, r, nil
}

// get returns the current leaf, renewing it when due. A failed renewal
// keeps the old leaf while it is still valid.
func (r *rotatingLeaf) get() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.cert != nil && now.Before(r.renewAt) {
		return r.cert, nil
	}
	fresh, err := r.issue(now)
	switch {
	case err == nil:
		r.cert, r.renewAt = fresh, now.Add(r.validity*2/3)
	case r.cert == nil || !now.Before(r.cert.Leaf.NotAfter):
		return nil, fmt.Errorf("issue mtls certificate: %w", err)
	}
	return r.cert, nil
}

func (r *rotatingLeaf) issue(now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := r.template(now)
	if tmpl.SerialNumber, err = randomSerial(); err != nil {
		return nil, err
	}
	if tmpl.NotAfter.After(r.ca.NotAfter) {
		tmpl.NotAfter = r.ca.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, r.ca, &key.PublicKey, r.caKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func leafTemplate(name string, now time.Time, validity time.Duration, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Reelguard"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{usage},
		BasicConstraintsValid: true,
	}
}

func certPool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
