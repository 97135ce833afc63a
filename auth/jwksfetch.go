package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
)

// NewFileJWKS returns a provider over a JWKS file. The file is stat'ed once
// per TTL and on unknown kids (at most once per cooldown), and re-read when
// its inode, size or modification time changed, so replacing it rotates keys
// without a restart. The first read must succeed.
func NewFileJWKS(path string, cfg JWKSConfig) (*JWKSProvider, error) {
	f := &fileFetcher{path: path}
	return newProvider(context.Background(), path, f.fetch, cfg.withDefaults(DefaultJWKSFileTTL))
}

type fileFetcher struct {
	path string
	last os.FileInfo // of the version last parsed; only the running fetch touches it
}

func (f *fileFetcher) fetch(_ context.Context, cur *JWKS) (*JWKS, error) {
	fi, err := os.Stat(f.path)
	if err != nil {
		return nil, err
	}
	if cur != nil && f.last != nil && os.SameFile(fi, f.last) &&
		fi.Size() == f.last.Size() && fi.ModTime().Equal(f.last.ModTime()) {
		return cur, nil
	}
	ks, err := LoadJWKS(f.path)
	if err != nil {
		return nil, err
	}
	f.last = fi
	return ks, nil
}

// NewURLJWKS returns a provider over a JWKS URL: https only (see
// JWKSConfig.AllowLoopbackHTTP), answers of 200 with a JSON media type and at
// most MaxBytes, parsed strictly. It honours ETag. The first fetch, bounded by
// ctx and the timeout, must succeed.
func NewURLJWKS(ctx context.Context, rawURL string, cfg JWKSConfig) (*JWKSProvider, error) {
	cfg = cfg.withDefaults(DefaultJWKSURLTTL)
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("jwks url: %w", err)
	}
	if err := checkJWKSURL(u, cfg.AllowLoopbackHTTP); err != nil {
		return nil, fmt.Errorf("jwks url: %w", err)
	}
	f := &urlFetcher{url: u.String(), client: jwksClient(cfg), maxBytes: cfg.MaxBytes}
	return newProvider(ctx, u.Redacted(), f.fetch, cfg)
}

func checkJWKSURL(u *url.URL, allowLoopbackHTTP bool) error {
	switch {
	case u.User != nil:
		return errors.New("credentials in the URL")
	case u.Host == "":
		return errors.New("no host")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && allowLoopbackHTTP:
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			return nil
		}
		return errors.New("http is allowed only to a loopback IP")
	default:
		return fmt.Errorf("scheme %q: https required", u.Scheme)
	}
}

// jwksClient copies the configured client (or builds one) with a redirect
// policy that applies checkJWKSURL to every hop.
func jwksClient(cfg JWKSConfig) *http.Client {
	var c http.Client
	if cfg.HTTPClient != nil {
		c = *cfg.HTTPClient
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		c.Transport = t
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("more than 3 redirects")
		}
		return checkJWKSURL(req.URL, cfg.AllowLoopbackHTTP)
	}
	return &c
}

type urlFetcher struct {
	url      string
	client   *http.Client
	maxBytes int64
	etag     string // of the version last parsed; only the running fetch touches it
}

func (f *urlFetcher) fetch(ctx context.Context, cur *JWKS) (*JWKS, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	if f.etag != "" && cur != nil {
		req.Header.Set("If-None-Match", f.etag)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && f.etag != "" && cur != nil {
		return cur, nil
	}
	data, err := f.readBody(resp)
	if err != nil {
		return nil, err
	}
	ks, err := ParseJWKS(data)
	if err != nil {
		return nil, err
	}
	f.etag = resp.Header.Get("ETag")
	return ks, nil
}

func (f *urlFetcher) readBody(resp *http.Response) ([]byte, error) {
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "application/jwk-set+json") {
		return nil, fmt.Errorf("content type %q, want application/json", resp.Header.Get("Content-Type"))
	}
	if resp.ContentLength > f.maxBytes {
		return nil, fmt.Errorf("body of %d bytes, limit %d", resp.ContentLength, f.maxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > f.maxBytes {
		return nil, fmt.Errorf("body over %d bytes", f.maxBytes)
	}
	return data, nil
}
