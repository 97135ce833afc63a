package gateway_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"testing"

	"github.com/reelguard/reelguard/gateway"
)

// TestHTTP2ResponseIsOneWrite: over HTTP/2 the gateway sends a response's
// HEADERS and DATA frames in one write, not one write each (Go's HTTP/2
// server flushes them separately; coalescingConn joins them).
func TestHTTP2ResponseIsOneWrite(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	client := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: s.pool}}}
	get := func() {
		t.Helper()
		resp, err := client.Get(s.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || len(body) == 0 {
			t.Fatalf("GET /healthz: %s over %s, %d bytes; want 200 over HTTP/2 with a body", resp.Status, resp.Proto, len(body))
		}
	}
	get() // the connection's handshake and settings
	const n = 40
	before := s.pubWrites.Load()
	for range n {
		get()
	}
	// One write per response; a response whose DATA came later than
	// holdHeaders (a busy machine) takes two.
	if w := s.pubWrites.Load() - before; w >= n*3/2 {
		t.Fatalf("%d responses took %d writes; want about one each (two each without coalescing)", n, w)
	}
}

// TestPublicServerRefusesTLSWithoutHTTP2Suites: a TLS 1.2 config whose
// cipher suites HTTP/2 forbids is an error at start, not a panic.
func TestPublicServerRefusesTLSWithoutHTTP2Suites(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	conf := &tls.Config{MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}
	if srv, err := s.gw.PublicServer(conf); err == nil {
		t.Fatalf("PublicServer accepted TLS 1.2 without AES-128-GCM: %v", srv)
	}
}
