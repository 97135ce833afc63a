package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/reelguard/reelguard/certs"
)

// pebbleServer is Let's Encrypt's ACME test server, run as its own process.
// Its validation authority really connects to the ports it was given:
// httpPort for HTTP-01 and tlsPort for TLS-ALPN-01, on the address
// "localhost" resolves to.
type pebbleServer struct {
	directory string         // ACME directory URL
	tlsRoots  *x509.CertPool // trust for pebble's own HTTPS
	rootsFile string         // the same, as a PEM file
	mgmt      string         // management interface base URL
	out       *syncBuffer
}

var (
	pebbleOnce sync.Once
	pebbleBin  string
	pebbleErr  error
)

// pebblePath is $REELGUARD_TEST_PEBBLE (scripts/test.sh builds bin/pebble),
// else pebble built once for this test binary from the module's tool
// dependency.
func pebblePath(t testing.TB) string {
	t.Helper()
	pebbleOnce.Do(func() {
		if pebbleBin = os.Getenv("REELGUARD_TEST_PEBBLE"); pebbleBin != "" {
			return
		}
		dir, err := os.MkdirTemp("", "reelguard-pebble-")
		if err != nil {
			pebbleErr = err
			return
		}
		pebbleBin = filepath.Join(dir, "pebble")
		build := exec.Command("go", "build", "-o", pebbleBin, "github.com/letsencrypt/pebble/v2/cmd/pebble")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			pebbleErr = fmt.Errorf("build pebble: %v\n%s", err, out)
		}
	})
	if pebbleErr != nil {
		t.Fatal(pebbleErr)
	}
	return pebbleBin
}

// startPebble runs pebble on free ports, validating HTTP-01 on httpPort and
// TLS-ALPN-01 on tlsPort. PEBBLE_VA_NOSLEEP only drops its random wait
// before validating; validation itself is real (no PEBBLE_VA_ALWAYS_VALID).
// Authorizations are never reused, so every order is validated afresh.
func startPebble(t testing.TB, httpPort, tlsPort int) *pebbleServer {
	t.Helper()
	return startPebbleValidity(t, httpPort, tlsPort, 0)
}

// startPebbleValidity is startPebble issuing certificates valid for
// validity (pebble's default of 90 days when 0).
func startPebbleValidity(t testing.TB, httpPort, tlsPort int, validity time.Duration) *pebbleServer {
	t.Helper()
	dir := t.TempDir()
	p := &pebbleServer{out: &syncBuffer{}, rootsFile: filepath.Join(dir, "pebble-tls-ca.pem")}
	p.tlsRoots = writePebbleTLS(t, dir, p.rootsFile)
	listen, mgmt := addr(t), addr(t)
	p.directory, p.mgmt = "https://"+listen+"/dir", "https://"+mgmt
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": filepath.Join(dir, "cert.pem"), "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": httpPort, "tlsPort": tlsPort, "ocspResponderURL": "", "keyAlgorithm": "ecdsa",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
	}}
	if validity > 0 {
		conf["pebble"].(map[string]any)["profiles"] = map[string]any{
			"default": map[string]any{"description": "short-lived", "validityPeriod": int(validity.Seconds())}}
	}
	confPath := filepath.Join(dir, "pebble.json")
	b, _ := json.Marshal(conf)
	if err := os.WriteFile(confPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pebblePath(t), "-config", confPath)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pebble: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("pebble output:\n%s", p.out.String())
		}
	})
	waitOK(t, p.client(), p.directory, &proc{name: "pebble", cmd: cmd, out: p.out, done: done})
	return p
}

func (p *pebbleServer) client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.tlsRoots}}}
}

// issuanceRoots fetches the root pebble issues under (a new one each run)
// from its management interface.
func (p *pebbleServer) issuanceRoots(t testing.TB) *x509.CertPool {
	t.Helper()
	resp, err := p.client().Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatalf("pebble roots: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if resp.StatusCode != http.StatusOK || !pool.AppendCertsFromPEM(body) {
		t.Fatalf("pebble /roots/0: %d %q", resp.StatusCode, body)
	}
	return pool
}

// writePebbleTLS makes a throwaway CA and a leaf for 127.0.0.1 and
// localhost for pebble's own HTTPS, writes cert.pem and key.pem into dir
// and the CA into rootsFile, and returns the CA as a pool.
func writePebbleTLS(t testing.TB, dir, rootsFile string) *x509.CertPool {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebble test TLS CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	for name, data := range map[string][]byte{
		"cert.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		"key.pem":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(rootsFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

// testLogger keeps certmagic's log and shows it if the test fails.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	buf := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("certmagic log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, nil))
}

// freePortNum is a TCP port on 127.0.0.1 that nothing listens on now.
func freePortNum(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// servedLeaf handshakes with addr as a client that trusts only roots and
// asks for "localhost", and returns the verified leaf.
func servedLeaf(t testing.TB, addr string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// TestACMEPebble obtains a certificate from a real pebble for each
// challenge type, serves it on a real TLS listener, renews it while that
// listener runs (the renewal's challenge is answered by our own listener or
// handler, which hold the ports), and loads it from storage on a restart.
func TestACMEPebble(t *testing.T) {
	httpPort, tlsPort := freePortNum(t), freePortNum(t)
	pb := startPebble(t, httpPort, tlsPort)
	for _, challenge := range []string{certs.ChallengeHTTP01, certs.ChallengeTLSALPN01} {
		t.Run(challenge, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cfg := certs.ACMEConfig{CA: pb.directory, Email: "ops@example.com", Domains: []string{"localhost"},
				Storage: t.TempDir(), Challenges: []string{challenge}, ListenHost: "127.0.0.1",
				HTTPPort: httpPort, TLSALPNPort: tlsPort, CARoots: pb.tlsRoots, Logger: testLogger(t)}
			a, err := certs.NewACME(ctx, cfg)
			if err != nil {
				t.Fatalf("NewACME: %v", err)
			}
			defer a.Close()
			addr := serveACME(t, a, challenge, httpPort, tlsPort)
			roots := pb.issuanceRoots(t)
			first := servedLeaf(t, addr, roots)
			if k, ok := first.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
				t.Errorf("served key %T, want ECDSA P-256", first.PublicKey)
			}

			if err := a.Renew(ctx); err != nil {
				t.Fatalf("Renew: %v", err)
			}
			renewed := servedLeaf(t, addr, roots)
			if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
				t.Fatalf("after Renew the listener still serves serial %x", first.SerialNumber)
			}

			again, err := certs.NewACME(ctx, cfg)
			if err != nil {
				t.Fatalf("NewACME on the same storage: %v", err)
			}
			defer again.Close()
			if got := serveTLSConfig(t, again.TLSConfig()); servedLeaf(t, got, roots).SerialNumber.Cmp(renewed.SerialNumber) != 0 {
				t.Error("a restart on the same storage did not serve the stored certificate")
			}
		})
	}
}

// TestACMEBackgroundRenewal: with certificates valid for 15s (renewed half
// way at the latest, by RenewalWindowRatio, or earlier at the time ARI
// picks), certmagic's own maintenance renews them (no Renew call) and the
// running listener serves the new one on the next handshake.
func TestACMEBackgroundRenewal(t *testing.T) {
	tlsPort := freePortNum(t)
	pb := startPebbleValidity(t, freePortNum(t), tlsPort, 15*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := certs.NewACME(ctx, certs.ACMEConfig{CA: pb.directory, Email: "ops@example.com", Domains: []string{"localhost"},
		Storage: t.TempDir(), Challenges: []string{certs.ChallengeTLSALPN01}, ListenHost: "127.0.0.1",
		TLSALPNPort: tlsPort, CARoots: pb.tlsRoots, RenewCheckInterval: 250 * time.Millisecond, RenewalWindowRatio: 0.5,
		Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("NewACME: %v", err)
	}
	defer a.Close()
	addr := serveTLSConfigOn(t, a.TLSConfig(), fmt.Sprintf("127.0.0.1:%d", tlsPort))
	roots := pb.issuanceRoots(t)
	first := servedLeaf(t, addr, roots)
	if life := first.NotAfter.Sub(first.NotBefore); life > time.Minute {
		t.Fatalf("pebble issued a certificate valid for %v, want seconds", life)
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if leaf := servedLeaf(t, addr, roots); leaf.SerialNumber.Cmp(first.SerialNumber) != 0 {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("serial %x still served 90s after issue: no background renewal", first.SerialNumber)
}

// serveACME serves a's certificates and returns the TLS address. For
// TLS-ALPN-01 that listener holds tlsPort, where the CA validates; for
// HTTP-01 a plain-HTTP server on httpPort answers the challenges.
func serveACME(t testing.TB, a *certs.ACME, challenge string, httpPort, tlsPort int) string {
	t.Helper()
	if challenge == certs.ChallengeTLSALPN01 {
		return serveTLSConfigOn(t, a.TLSConfig(), fmt.Sprintf("127.0.0.1:%d", tlsPort))
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.HTTPChallengeHandler(http.NotFoundHandler()), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return serveTLSConfig(t, a.TLSConfig())
}

func serveTLSConfig(t testing.TB, cfg *tls.Config) string {
	t.Helper()
	return serveTLSConfigOn(t, cfg, "127.0.0.1:0")
}

// serveTLSConfigOn completes TLS handshakes with cfg on addr and hangs up.
func serveTLSConfigOn(t testing.TB, cfg *tls.Config, addr string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				_ = c.(*tls.Conn).Handshake()
			})
		}
	})
	return ln.Addr().String()
}

// TestGatewayACME runs `gateway serve` with REELGUARD_ACME_*: it obtains
// its certificate from pebble at start (storage under the data folder),
// serves it on the public listener, and its HTTP-01 listener redirects
// other requests to https.
func TestGatewayACME(t *testing.T) {
	httpPort, tlsPort := freePortNum(t), freePortNum(t)
	pb := startPebble(t, httpPort, tlsPort)
	data := t.TempDir()
	listen, httpListen := fmt.Sprintf("127.0.0.1:%d", tlsPort), fmt.Sprintf("127.0.0.1:%d", httpPort)
	gw := start(t, []string{"REELGUARD_DATA=" + data, "REELGUARD_LISTEN=" + listen, "REELGUARD_ADMIN_LISTEN=" + addr(t),
		"REELGUARD_UPSTREAM=http://" + addr(t), "REELGUARD_KAFKA_BROKERS=" + brokers, "REELGUARD_INSTANCE=e2e-acme",
		"REELGUARD_ACME_CA=" + pb.directory, "REELGUARD_ACME_EMAIL=ops@example.com", "REELGUARD_ACME_DOMAINS=localhost",
		"REELGUARD_ACME_CA_ROOT=" + pb.rootsFile, "REELGUARD_ACME_HTTP_LISTEN=" + httpListen}, "gateway", "serve")
	roots := pb.issuanceRoots(t)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	waitOK(t, client, fmt.Sprintf("https://localhost:%d/healthz", tlsPort), gw)

	leaf := servedLeaf(t, listen, roots)
	if leaf.Issuer.CommonName == "Reelguard dev CA" || leaf.VerifyHostname("localhost") != nil {
		t.Errorf("served leaf from %q for %v, want pebble's for localhost", leaf.Issuer.CommonName, leaf.DNSNames)
	}
	if entries, err := os.ReadDir(filepath.Join(data, "acme", "certificates")); err != nil || len(entries) == 0 {
		t.Errorf("no certificate stored under $REELGUARD_DATA/acme/certificates: %v", err)
	}
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := noFollow.Get("http://" + httpListen + "/recommend/42?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "https://127.0.0.1/recommend/42?x=1" {
		t.Errorf("HTTP listener answered %d %q, want a 308 to https", resp.StatusCode, resp.Header.Get("Location"))
	}
}
