package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// loadCA reads the data folder's dev CA into a pool.
func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("read CA %s: no certificate in it", path)
	}
	return pool, nil
}

// sourceDialer dials from a fixed loopback source address, so the gateway's
// per-IP guards see each traffic class as its own client.
func sourceDialer(src net.IP, timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: src}}
}

// newClient is an HTTP client speaking only proto ("h2" or "h1") from src.
// Each client has its own transport, so its own connections.
func newClient(proto string, src net.IP, pool *x509.CertPool, timeout time.Duration, maxConns int) *http.Client {
	var protos http.Protocols
	if proto == "h2" {
		protos.SetHTTP2(true)
	} else {
		protos.SetHTTP1(true)
	}
	tr := &http.Transport{
		DialContext:         sourceDialer(src, timeout).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: timeout,
		Protocols:           &protos,
		MaxIdleConnsPerHost: maxConns,
		MaxConnsPerHost:     maxConns,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// do sends one GET with an optional bearer token, reads the body to the end
// and reports the status and the time to the last byte.
func do(ctx context.Context, c *http.Client, url, token string) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("build request: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, time.Since(start), err
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp.StatusCode, time.Since(start), err
}

// closeIdle lets go of every client's idle connections.
func closeIdle(clients ...*http.Client) {
	for _, c := range clients {
		c.CloseIdleConnections()
	}
}
