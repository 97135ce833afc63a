package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLSCheck runs scripts/tlscheck.sh, testssl and h2spec against
// bin/gateway, when `make test` runs the tests (it installs testssl). The
// script takes a little over a minute.
func TestTLSCheck(t *testing.T) {
	if os.Getenv("REELGUARD_TEST_BIN") == "" {
		t.Skip("run by `make test`; alone: make build && scripts/tlscheck.sh")
	}
	cmd := exec.Command("bash", filepath.Join("..", "scripts", "tlscheck.sh"), binDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/tlscheck.sh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "tlscheck: ok") {
		t.Fatalf("scripts/tlscheck.sh exited 0 without saying ok:\n%s", out)
	}
	t.Logf("%s", out)
}

// tlsGateway starts a gateway on its own data folder (no Redis, no
// recommender: a handshake needs neither) and returns its public address and
// a pool holding its dev CA.
func tlsGateway(t *testing.T) (string, *x509.CertPool) {
	t.Helper()
	data := t.TempDir()
	listen := addr(t)
	env := []string{"REELGUARD_DATA=" + data, "REELGUARD_LISTEN=" + listen, "REELGUARD_ADMIN_LISTEN=" + addr(t),
		"REELGUARD_RECOMMENDER_LISTEN=" + addr(t), "REELGUARD_KAFKA_BROKERS=" + brokers, "REELGUARD_INSTANCE=e2e-tls"}
	run(t, env, "gateway", "keys")
	gw := start(t, env, "gateway", "serve")
	waitOK(t, tlsClient(t, data, 5*time.Second), "https://"+listen+"/healthz", gw)
	pem, err := os.ReadFile(filepath.Join(data, "ca", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return listen, pool
}

// TestTLSPolicy connects with one client offer at a time and checks what the
// gateway negotiates: issue 8's policy (Mozilla intermediate: TLS 1.2 and
// 1.3, AEAD suites, X25519MLKEM768 first, ECDSA P-256, HTTP/2), the dev
// certificate served with and without SNI.
func TestTLSPolicy(t *testing.T) {
	listen, pool := tlsGateway(t)
	cases := []struct {
		name       string
		serverName string // "" sends no SNI (the address is an IP)
		min, max   uint16
		curves     []tls.CurveID
		suites     []uint16
		wantCurve  tls.CurveID // 0: the handshake must fail
		wantVer    uint16
	}{
		{name: "hybrid post-quantum key exchange", min: tls.VersionTLS13, curves: []tls.CurveID{tls.X25519MLKEM768},
			wantCurve: tls.X25519MLKEM768, wantVer: tls.VersionTLS13},
		{name: "hybrid preferred when offered with others", serverName: "localhost", min: tls.VersionTLS13,
			curves: []tls.CurveID{tls.CurveP256, tls.X25519, tls.X25519MLKEM768}, wantCurve: tls.X25519MLKEM768, wantVer: tls.VersionTLS13},
		{name: "TLS 1.2 with X25519", max: tls.VersionTLS12, curves: []tls.CurveID{tls.X25519},
			wantCurve: tls.X25519, wantVer: tls.VersionTLS12},
		{name: "TLS 1.3 with P-256", serverName: "localhost", curves: []tls.CurveID{tls.CurveP256},
			wantCurve: tls.CurveP256, wantVer: tls.VersionTLS13},
		{name: "TLS 1.3 with P-384", curves: []tls.CurveID{tls.CurveP384},
			wantCurve: tls.CurveP384, wantVer: tls.VersionTLS13},
		{name: "TLS 1.1 refused", max: tls.VersionTLS11},
		{name: "TLS 1.2 CBC suites refused", max: tls.VersionTLS12,
			suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conf := &tls.Config{RootCAs: pool, ServerName: tc.serverName, MinVersion: tc.min, MaxVersion: tc.max,
				CurvePreferences: tc.curves, CipherSuites: tc.suites, NextProtos: []string{"h2", "http/1.1"}}
			if tc.min == 0 {
				conf.MinVersion = tls.VersionTLS10 // let the client offer old versions: the server must refuse them
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", listen, conf)
			if tc.wantCurve == 0 {
				if err == nil {
					cs := conn.ConnectionState()
					conn.Close()
					t.Fatalf("handshake succeeded (version %x, suite %s), want it refused", cs.Version, tls.CipherSuiteName(cs.CipherSuite))
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.Close()
			checkState(t, conn.ConnectionState(), tc.wantCurve, tc.wantVer)
		})
	}
}

func checkState(t *testing.T, cs tls.ConnectionState, curve tls.CurveID, version uint16) {
	t.Helper()
	if cs.CurveID != curve {
		t.Errorf("negotiated group %v, want %v", cs.CurveID, curve)
	}
	if cs.Version != version {
		t.Errorf("version %x, want %x", cs.Version, version)
	}
	if cs.NegotiatedProtocol != "h2" {
		t.Errorf("ALPN %q, want h2", cs.NegotiatedProtocol)
	}
	if name := tls.CipherSuiteName(cs.CipherSuite); !strings.Contains(name, "GCM") && !strings.Contains(name, "CHACHA20_POLY1305") {
		t.Errorf("suite %s is not AEAD", name)
	}
	leaf := cs.PeerCertificates[0]
	if key, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || key.Curve != elliptic.P256() {
		t.Errorf("certificate key %T, want ECDSA P-256", leaf.PublicKey)
	}
}

// TestSecurityHeaders checks HSTS (two years) and nosniff on answers of
// every kind, served over HTTP/2.
func TestSecurityHeaders(t *testing.T) {
	listen, pool := tlsGateway(t)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	for _, path := range []string{"/healthz", "/no-such-route", "/recommend/42"} { // 200, 404, 401
		resp, err := c.Get("https://" + listen + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Errorf("GET %s over %s, want HTTP/2", path, resp.Proto)
		}
		if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=63072000") {
			t.Errorf("GET %s (%d): Strict-Transport-Security %q, want max-age=63072000", path, resp.StatusCode, hsts)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s (%d): X-Content-Type-Options %q, want nosniff", path, resp.StatusCode, got)
		}
	}
}
