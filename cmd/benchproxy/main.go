// Command benchproxy is the floor scripts/bench-nginx.sh measures the
// gateway against: a bare Go HTTPS reverse proxy with nothing of the
// gateway's chain (no authentication, policy, answer cache, detectors or
// logs). It serves HTTP/2 with net/http's own server and forwards each GET
// over a kept-alive HTTP/1.1 connection to the upstream. With -redis it
// first makes the gateway's one Redis round trip per request: the same
// ratelimit.Redis check (its script, keys and one member counter) for one
// subject, so what it adds over the upstream is what Go's HTTP stack and a
// Redis hop cost on the machine, before any of the gateway's own work.
//
//	benchproxy -listen 127.0.0.1:9443 -upstream http://127.0.0.1:8082 -redis redis://127.0.0.1:6379/0
//
// Its certificate is a self-signed ECDSA P-256 one made in memory at start.
// It is a measuring tool for loopback, not a proxy to deploy.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/reelguard/reelguard/gateway/ratelimit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "benchproxy:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. It prints "benchproxy listening on ADDR" to
// stderr once the listener is bound.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve HTTPS on")
	upstream := fs.String("upstream", "", "base URL of the upstream (http://host:port)")
	redisURL := fs.String("redis", "", "Redis URL: make one limiter check per request there")
	rate := fs.Float64("rate", 1e6, "the subject's budget in requests per second")
	burst := fs.Int("burst", 1e6, "the subject's burst")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !strings.HasPrefix(*upstream, "http://") {
		return fmt.Errorf("-upstream must be an http:// URL, not %q", *upstream)
	}
	p := &proxy{
		upstream: strings.TrimSuffix(*upstream, "/"),
		client:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}},
		rate:     ratelimit.Rate{PerSecond: *rate, Burst: *burst},
	}
	if err := p.rate.Validate(); err != nil {
		return err
	}
	if *redisURL != "" {
		c, err := ratelimit.NewRedisClient(*redisURL)
		if err != nil {
			return err
		}
		defer c.Close()
		p.limiter = ratelimit.NewRedis(c, keyPrefix)
	}
	cert, err := selfSigned()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           p,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Fprintf(stderr, "benchproxy listening on %s\n", ln.Addr())
	return srv.ServeTLS(ln, "", "")
}

// keyPrefix starts the Redis keys of benchproxy's checks.
var keyPrefix = "benchproxy"

// proxy forwards GETs to upstream, after a limiter check when it has one.
type proxy struct {
	upstream string
	client   *http.Client
	limiter  *ratelimit.Redis // nil: no check
	rate     ratelimit.Rate
}

// checkRequest is shaped like the gateway's for a service reading another
// user's recommendations: one subject, its token id, and the distinct
// targets counted in the same script call.
func (p *proxy) checkRequest(r *http.Request) ratelimit.Request {
	target := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	return ratelimit.Request{
		Subject:  "bench-frontend",
		IP:       "127.0.0.1",
		JTI:      "benchproxy",
		Rate:     p.rate,
		Counters: []ratelimit.Counter{{Name: "recommend", Window: time.Minute, Member: target}},
	}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "only GET", http.StatusMethodNotAllowed)
		return
	}
	if p.limiter != nil {
		v, err := p.limiter.Check(r.Context(), p.checkRequest(r))
		if err != nil {
			http.Error(w, "limiter unavailable", http.StatusServiceUnavailable)
			return
		}
		if !v.Limit.Allowed {
			http.Error(w, "rate limited", http.StatusTooManyRequests)
			return
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, p.upstream+r.URL.RequestURI(), nil)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	resp, err := p.client.Do(req)
	if err != nil {
		http.Error(w, "upstream unavailable", http.StatusBadGateway)
		return
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	resp.Body.Close()
	if err != nil {
		http.Error(w, "upstream unavailable", http.StatusBadGateway)
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// selfSigned makes a one-day certificate for localhost and 127.0.0.1.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "benchproxy"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
