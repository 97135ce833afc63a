package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oklog/run"

	"github.com/reelguard/reelguard/certs"
)

// publicTLS is the public listener's TLS: certificates from the ACME CA
// when acme domains are configured (obtained before this returns), else
// the dev CA's leaf.
func (s *stack) publicTLS(ctx context.Context) (*tls.Config, error) {
	c := s.cfg
	if !c.ACME.enabled() {
		return certs.ServerTLSConfig(filepath.Join(c.Data, "ca"), nil)
	}
	ac, err := c.certsACME()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.ACME.CARoot != "" {
		if ac.CARoots, err = readRoots(c.ACME.CARoot); err != nil {
			return nil, err
		}
	}
	ac.Logger = s.log.With("part", "acme")
	s.log.Info("acme: obtaining or loading certificates", "ca", ac.CA, "domains", ac.Domains, "challenges", ac.Challenges)
	if s.acme, err = certs.NewACME(ctx, ac); err != nil {
		return nil, err
	}
	return s.acme.TLSConfig(), nil
}

func readRoots(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("acme ca root: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("acme ca root: no certificate in %s", path)
	}
	return pool, nil
}

// upstreamTLS is the client side of mTLS to an https upstream (the
// recommender's mTLS listener): the internal CA's trust and a short-lived
// client certificate that renews itself. A plain-HTTP upstream needs none.
func upstreamTLS(c config) (*tls.Config, error) {
	u, err := url.Parse(c.Upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	if u.Scheme != "https" {
		return nil, nil
	}
	cfg, err := certs.MTLSClientConfig(certs.MTLSConfig{CADir: internalCADir(c.Data), ClientName: "gateway " + c.Instance})
	if err != nil {
		return nil, fmt.Errorf("upstream mtls: %w", err)
	}
	return cfg, nil
}

// acmeHTTPServer answers HTTP-01 challenges and sends everything else to
// https on the default port.
func (s *stack) acmeHTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.acme.HTTPChallengeHandler(http.HandlerFunc(redirectToHTTPS)),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    8 << 10,
	}
}

// addACMEHTTP adds the HTTP-01 listener to g when it is configured.
func (s *stack) addACMEHTTP(g *run.Group) error {
	if s.acmeHTTP == nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.ACME.HTTPListen)
	if err != nil {
		return fmt.Errorf("acme http listener: %w", err)
	}
	s.log.Info("acme http-01 listening", "addr", "http://"+ln.Addr().String())
	g.Add(func() error { return serveAdmin(s.acmeHTTP, ln) }, func(error) { shutdown(s.acmeHTTP) })
	return nil
}

func redirectToHTTPS(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" {
		http.Error(w, "use https", http.StatusBadRequest)
		return
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 address
	}
	target := url.URL{Scheme: "https", Host: host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	http.Redirect(w, r, target.String(), http.StatusPermanentRedirect)
}
