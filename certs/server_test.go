package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// tlsServer serves cfg on 127.0.0.1:0, handshaking each connection and
// recording the SNI each client sent.
type tlsServer struct {
	addr string
	mu   sync.Mutex
	snis []string
}

func serveTLS(tb testing.TB, cfg *tls.Config) *tlsServer {
	tb.Helper()
	s := &tlsServer{}
	cfg = cfg.Clone()
	getCert := cfg.GetCertificate
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		s.mu.Lock()
		s.snis = append(s.snis, hello.ServerName)
		s.mu.Unlock()
		return getCert(hello)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	s.addr = ln.Addr().String()
	var wg sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					c.Read(make([]byte, 1)) // hold until the client hangs up
				}
			})
		}
	})
	return s
}

func (s *tlsServer) lastSNI() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.snis) == 0 {
		return "<none>"
	}
	return s.snis[len(s.snis)-1]
}

func dial(tb testing.TB, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	tb.Helper()
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.ConnectionState(), nil
}

func TestServerHandshake(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	cfg, err := ServerTLSConfig(dir, nil)
	if err != nil {
		t.Fatalf("ServerTLSConfig: %v", err)
	}
	pool, err := CAPool(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := serveTLS(t, cfg)
	for _, tc := range []struct {
		name, serverName, wantSNI string
		maxVersion                uint16
	}{
		{"ip without sni", "", "", 0},
		{"localhost sni", "localhost", "localhost", 0},
		{"tls1.2 ip without sni", "", "", tls.VersionTLS12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := dial(t, srv.addr, &tls.Config{
				RootCAs: pool, ServerName: tc.serverName, MaxVersion: tc.maxVersion,
				NextProtos: []string{"h2", "http/1.1"},
			})
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if len(st.VerifiedChains) == 0 {
				t.Error("no verified chain")
			}
			if got := srv.lastSNI(); got != tc.wantSNI {
				t.Errorf("server saw SNI %q, want %q", got, tc.wantSNI)
			}
			if st.NegotiatedProtocol != "h2" {
				t.Errorf("ALPN = %q, want h2", st.NegotiatedProtocol)
			}
		})
	}
}

func TestServerRefusesWeakClients(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	cfg, err := ServerTLSConfig(dir, nil)
	if err != nil {
		t.Fatalf("ServerTLSConfig: %v", err)
	}
	pool, _ := CAPool(dir)
	srv := serveTLS(t, cfg)
	for _, tc := range []struct {
		name   string
		client *tls.Config
		ok     bool
	}{
		{"tls1.2 ecdhe gcm (control)", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"tls1.1 only", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
		{"tls1.2 cbc only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		}}, false},
		{"tls1.2 rsa key exchange gcm", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.client.RootCAs = pool
			st, err := dial(t, srv.addr, tc.client)
			if tc.ok && err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("handshake succeeded with %s / %s, want refusal", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
			}
			t.Logf("handshake: %v", err)
		})
	}
}

func TestServerCertFilesAndReuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	if _, err := ServerTLSConfig(dir, nil); err != nil {
		t.Fatalf("ServerTLSConfig: %v", err)
	}
	for _, name := range []string{ServerKeyFile, CAKeyFile} {
		if got := mode(t, filepath.Join(dir, name)); got != 0o600 {
			t.Errorf("mode of %s = %v, want 0600", name, got)
		}
	}
	leaf := readLeaf(t, dir)
	if !slices.Equal(leaf.DNSNames, []string{"localhost"}) || len(leaf.IPAddresses) != 2 ||
		!leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || !leaf.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("leaf names %v %v, want localhost, 127.0.0.1, ::1", leaf.DNSNames, leaf.IPAddresses)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || leaf.IsCA {
		t.Errorf("leaf EKU %v IsCA %v", leaf.ExtKeyUsage, leaf.IsCA)
	}
	if life := leaf.NotAfter.Sub(time.Now()); life < 89*24*time.Hour || life > 91*24*time.Hour {
		t.Errorf("leaf valid for %v more, want about 90 days", life)
	}
	ca, _, _ := loadCA(dir)
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Errorf("leaf not signed by the CA: %v", err)
	}

	pemBefore, _ := os.ReadFile(filepath.Join(dir, ServerCertFile))
	if _, err := ServerTLSConfig(dir, []string{"::1", "LOCALHOST"}); err != nil {
		t.Fatal(err)
	}
	if pemAfter, _ := os.ReadFile(filepath.Join(dir, ServerCertFile)); !bytes.Equal(pemBefore, pemAfter) {
		t.Error("a leaf covering the hosts was reissued")
	}
	if _, err := ServerTLSConfig(dir, []string{"gateway.example", "10.0.0.7"}); err != nil {
		t.Fatal(err)
	}
	if again := readLeaf(t, dir); again.SerialNumber.Cmp(leaf.SerialNumber) == 0 ||
		again.VerifyHostname("gateway.example") != nil || again.VerifyHostname("10.0.0.7") != nil {
		t.Errorf("new hosts: leaf %v %v not reissued for them", again.DNSNames, again.IPAddresses)
	}
}

func readLeaf(tb testing.TB, dir string) *x509.Certificate {
	tb.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile))
	if err != nil {
		tb.Fatalf("load server pair: %v", err)
	}
	if len(cert.Certificate) != 2 {
		tb.Errorf("server.pem holds %d certificates, want leaf and CA", len(cert.Certificate))
	}
	return cert.Leaf
}

func TestServerCertRenewal(t *testing.T) {
	dir := newCA(t)
	ca, caKey, _ := loadCA(dir)
	hosts, _ := normalizeHosts(nil)
	certPEM, keyPEM, err := issueLeaf(ca, caKey, hosts, time.Now(), 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ServerCertFile), certPEM, 0o644)
	os.WriteFile(filepath.Join(dir, ServerKeyFile), keyPEM, 0o600)
	short, _ := tls.X509KeyPair(certPEM, keyPEM)

	if _, err := ServerTLSConfig(dir, nil); err != nil {
		t.Fatal(err)
	}
	if leaf := readLeaf(t, dir); leaf.SerialNumber.Cmp(short.Leaf.SerialNumber) == 0 {
		t.Error("a leaf expiring within 24h was reused at start")
	}

	// A running server renews when its leaf nears expiry.
	src := &leafSource{dir: dir, hosts: hosts, now: time.Now, cert: &short}
	src.now = func() time.Time { return time.Now().Add(89 * 24 * time.Hour) }
	got, err := src.getCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatalf("getCertificate: %v", err)
	}
	if got.Leaf.NotAfter.Sub(src.now()) < 80*24*time.Hour {
		t.Errorf("served leaf expires %v, want a renewed one", got.Leaf.NotAfter)
	}
}

func TestServerTLSConfigRejectsBadHosts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	for _, hosts := range [][]string{{""}, {"a b"}, {"http://x"}, {"fe80::1%eth0"}, {"-x.example"}} {
		if _, err := ServerTLSConfig(dir, hosts); err == nil {
			t.Errorf("ServerTLSConfig(%q): want an error", hosts)
		}
	}
	if ok, _ := exists(filepath.Join(dir, ServerCertFile)); ok {
		t.Error("a leaf was written for bad hosts")
	}
}

func TestNormalizeHosts(t *testing.T) {
	got, err := normalizeHosts([]string{" Example.COM. ", "[::1]", "::ffff:127.0.0.1", "127.0.0.1", "*.svc.local", "example.com"})
	want := []string{"example.com", "::1", "127.0.0.1", "*.svc.local"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("normalizeHosts = %v, %v; want %v", got, err, want)
	}
	if got, _ := normalizeHosts(nil); !slices.Equal(got, defaultHosts) {
		t.Errorf("normalizeHosts(nil) = %v, want %v", got, defaultHosts)
	}
}

func TestTLSPolicy(t *testing.T) {
	p := TLSPolicy()
	if p.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x", p.MinVersion)
	}
	for _, id := range p.CipherSuites {
		name := tls.CipherSuiteName(id)
		aead := strings.Contains(name, "_GCM_") || strings.HasSuffix(name, "_CHACHA20_POLY1305_SHA256")
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !aead {
			t.Errorf("suite %s is not ECDHE with AEAD", name)
		}
	}
	if want := []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}; !slices.Equal(p.CurvePreferences, want) {
		t.Errorf("curves %v, want %v (Mozilla intermediate, post-quantum hybrid first)", p.CurvePreferences, want)
	}
	if TLSPolicy() == p {
		t.Error("TLSPolicy must return a fresh config each call")
	}
}
