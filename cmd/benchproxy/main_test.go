package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// start runs benchproxy with args until the test ends and returns its
// address.
func start(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), pw); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && err != http.ErrServerClosed {
			t.Errorf("run: %v", err)
		}
	})
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("no output: %v", <-done)
	}
	addr, ok := strings.CutPrefix(lines.Text(), "benchproxy listening on ")
	if !ok {
		t.Fatalf("first line %q", lines.Text())
	}
	go io.Copy(io.Discard, pr)
	return addr
}

func h2Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // the certificate is checked by hand below
		ForceAttemptHTTP2: true,
	}, Timeout: 10 * time.Second}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestProxiesOverHTTP2(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprintf(w, `{"path":%q,"query":%q}`, r.URL.Path, r.URL.RawQuery)
	}))
	defer up.Close()
	addr := start(t, "-upstream", up.URL)

	resp, body := get(t, h2Client(), "https://"+addr+"/recommend/42?k=5")
	if resp.Proto != "HTTP/2.0" {
		t.Errorf("protocol %s, want HTTP/2.0", resp.Proto)
	}
	if resp.StatusCode != http.StatusTeapot || body != `{"path":"/recommend/42","query":"k=5"}` {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || leaf.VerifyHostname("127.0.0.1") != nil {
		t.Errorf("certificate: key %T, names %v %v", leaf.PublicKey, leaf.DNSNames, leaf.IPAddresses)
	}
	if resp, _ := get(t, h2Client(), "https://"+addr+"/x"); resp.StatusCode != http.StatusTeapot {
		t.Errorf("second request: %d", resp.StatusCode)
	}
}

func TestUpstreamDownIs502(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	addr := start(t, "-upstream", dead)
	if resp, body := get(t, h2Client(), "https://"+addr+"/recommend/1"); resp.StatusCode != http.StatusBadGateway || strings.Contains(body, "127.0.0.1") {
		t.Errorf("got %d %q, want 502 without the upstream's address", resp.StatusCode, body)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-upstream", "ftp://x"}, {"-upstream", "http://127.0.0.1:1", "-burst", "0"}} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestRedisCheckSpendsTheBudget shows each request goes through the Redis
// limiter: with a burst of 2 and a budget that refills in hours, the third
// request is refused and never reaches the upstream.
func TestRedisCheckSpendsTheBudget(t *testing.T) {
	url := testRedis(t)
	var hits atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer up.Close()
	b := make([]byte, 8)
	rand.Read(b)
	keyPrefix = "benchproxy-test-" + hex.EncodeToString(b) // fresh keys every run
	addr := start(t, "-upstream", up.URL, "-redis", url, "-rate", "0.0001", "-burst", "2")

	c := h2Client()
	var codes []int
	for range 3 {
		resp, _ := get(t, c, "https://"+addr+"/recommend/7")
		codes = append(codes, resp.StatusCode)
	}
	if fmt.Sprint(codes) != "[200 200 429]" || hits.Load() != 2 {
		t.Errorf("statuses %v, upstream hits %d; want [200 200 429] and 2", codes, hits.Load())
	}
}

// testRedis returns the Redis make test runs, or starts a redis-server for
// this test.
func testRedis(t *testing.T) string {
	if u := os.Getenv("REELGUARD_TEST_REDIS_URL"); u != "" {
		return u
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: run `make test` (it installs Redis) or set REELGUARD_TEST_REDIS_URL")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return "redis://127.0.0.1:" + port + "/0"
		}
	}
	t.Fatal("redis-server did not start")
	return ""
}
