package certs

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock shared by both ends of a test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newInternalCA(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "internal-ca")
	if created, err := EnsureInternalCA(dir); err != nil || !created {
		tb.Fatalf("EnsureInternalCA = %v, %v", created, err)
	}
	return dir
}

// mtlsServer accepts connections with cfg and answers "ok" to each client
// whose handshake succeeds, recording the serial of each leaf it saw.
type mtlsServer struct {
	addr    string
	mu      sync.Mutex
	serials []*big.Int // client leaves, in order
}

func serveMTLS(tb testing.TB, cfg *tls.Config) *mtlsServer {
	tb.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s := &mtlsServer{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.handle(c.(*tls.Conn)) })
		}
	})
	return s
}

func (s *mtlsServer) handle(c *tls.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if c.Handshake() != nil {
		return
	}
	if peers := c.ConnectionState().PeerCertificates; len(peers) > 0 {
		s.mu.Lock()
		s.serials = append(s.serials, peers[0].SerialNumber)
		s.mu.Unlock()
	}
	c.Write([]byte("ok"))
}

func (s *mtlsServer) lastClientSerial() *big.Int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.serials) == 0 {
		return nil
	}
	return s.serials[len(s.serials)-1]
}

// exchange connects with cfg and reports the server leaf's serial and
// whether the server let the client in (in TLS 1.3 a refused client
// certificate shows on the first read, not in the client's handshake).
func exchange(tb testing.TB, addr string, cfg *tls.Config) (serverSerial *big.Int, err error) {
	tb.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

func TestMTLSRefusesClientsWithoutInternalCert(t *testing.T) {
	caDir := newInternalCA(t)
	serverCfg, err := MTLSServerConfig(MTLSConfig{CADir: caDir})
	if err != nil {
		t.Fatal(err)
	}
	srv := serveMTLS(t, serverCfg)
	gatewayCfg, err := MTLSClientConfig(MTLSConfig{CADir: caDir, ClientName: "gateway"})
	if err != nil {
		t.Fatal(err)
	}
	otherCfg, err := MTLSClientConfig(MTLSConfig{CADir: newInternalCA(t)})
	if err != nil {
		t.Fatal(err)
	}
	otherCfg.RootCAs = gatewayCfg.RootCAs // trusts the server: only its own certificate is foreign
	noCert := gatewayCfg.Clone()
	noCert.GetClientCertificate = nil
	devLeaf := gatewayCfg.Clone() // a server leaf of the same CA is no client certificate
	serverLeaf, _ := serverCfg.GetCertificate(nil)
	devLeaf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return serverLeaf, nil }

	for _, tc := range []struct {
		name   string
		cfg    *tls.Config
		wantOK bool
	}{
		{"gateway's client certificate", gatewayCfg, true},
		{"no client certificate", noCert, false},
		{"certificate from another CA", otherCfg, false},
		{"server certificate of the internal CA", devLeaf, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := exchange(t, srv.addr, tc.cfg)
			if (err == nil) != tc.wantOK {
				t.Fatalf("exchange error = %v, want accepted=%v", err, tc.wantOK)
			}
		})
	}
}

func TestMTLSClientVerifiesServer(t *testing.T) {
	caDir := newInternalCA(t)
	foreign, err := MTLSServerConfig(MTLSConfig{CADir: newInternalCA(t)})
	if err != nil {
		t.Fatal(err)
	}
	foreign.ClientCAs = x509.NewCertPool() // the server is what the client must reject
	foreign.ClientAuth = tls.RequestClientCert
	srv := serveMTLS(t, foreign)
	client, err := MTLSClientConfig(MTLSConfig{CADir: caDir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exchange(t, srv.addr, client); err == nil {
		t.Fatal("client accepted a server certified by another CA")
	}
	own, err := MTLSServerConfig(MTLSConfig{CADir: caDir, ServerName: "other.reelguard.internal"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exchange(t, serveMTLS(t, own).addr, client); err == nil {
		t.Fatal("client accepted a server leaf for another name")
	}
}

// Both leaves are replaced on the first handshake after two thirds of their
// lifetime, by the running configs, with no restart.
func TestMTLSRotation(t *testing.T) {
	caDir := newInternalCA(t)
	clock := &fakeClock{now: time.Now()}
	c := MTLSConfig{CADir: caDir, Validity: 24 * time.Hour, Now: clock.Now}
	serverCfg, err := MTLSServerConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	clientCfg, err := MTLSClientConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := serveMTLS(t, serverCfg)
	handshake := func() (server, client *big.Int) {
		t.Helper()
		s, err := exchange(t, srv.addr, clientCfg)
		if err != nil {
			t.Fatalf("handshake at %v: %v", clock.Now(), err)
		}
		return s, srv.lastClientSerial()
	}
	s0, c0 := handshake()
	clock.Advance(15 * time.Hour) // before 2/3 of 24h: the same leaves
	if s1, c1 := handshake(); s1.Cmp(s0) != 0 || c1.Cmp(c0) != 0 {
		t.Errorf("leaves replaced after 15h of 24h")
	}
	clock.Advance(2 * time.Hour) // past 16h: new leaves, still accepted
	s2, c2 := handshake()
	if s2.Cmp(s0) == 0 || c2.Cmp(c0) == 0 {
		t.Errorf("after 17h of 24h server serial changed=%v, client serial changed=%v; want both",
			s2.Cmp(s0) != 0, c2.Cmp(c0) != 0)
	}
	clock.Advance(30 * time.Hour) // long past the first leaves' expiry
	if _, err := exchange(t, srv.addr, clientCfg); err != nil {
		t.Errorf("handshake after the first leaves expired: %v", err)
	}
}

func TestMTLSConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  string
	}{
		{"no CA folder", filepath.Join(t.TempDir(), "missing")},
		{"empty CA folder", t.TempDir()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := MTLSServerConfig(MTLSConfig{CADir: tc.dir}); err == nil {
				t.Error("MTLSServerConfig: want an error")
			}
			if _, err := MTLSClientConfig(MTLSConfig{CADir: tc.dir}); err == nil {
				t.Error("MTLSClientConfig: want an error")
			}
		})
	}
}

func TestEnsureInternalCAName(t *testing.T) {
	ca, _, err := loadCA(newInternalCA(t))
	if err != nil {
		t.Fatal(err)
	}
	if ca.Subject.CommonName != "Reelguard internal CA" || !ca.IsCA {
		t.Errorf("internal CA = %q IsCA=%v", ca.Subject.CommonName, ca.IsCA)
	}
}
