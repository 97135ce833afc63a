package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/reelguard/reelguard/auth"
)

// Headers the gateway sets for the retrieval service; whatever a client
// sent under these names is dropped first.
const (
	headerSubject = "X-Reelguard-Subject"
	headerRole    = "X-Reelguard-Role"
)

// proxy is the reverse proxy to the retrieval service.
type proxy struct {
	http.Handler
	up        *url.URL
	transport *upstreamTransport
}

// newProxy builds the reverse proxy to the retrieval service. Every failure
// (refused connection, timeout, a 5xx) goes to failed, which answers; ok
// hears of every answer below 500.
func newProxy(cfg Config, failed func(http.ResponseWriter, *http.Request, error), ok func()) (*proxy, error) {
	up, err := url.Parse(cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	transport, err := newUpstreamTransport(up, cfg.UpstreamTLS, cfg.UpstreamTimeout, 256)
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			p, _ := principalFrom(pr.In.Context())
			rewrite(pr, up, p)
		},
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 500 {
				return fmt.Errorf("upstream answered %d", resp.StatusCode)
			}
			ok()
			return nil
		},
		ErrorHandler: failed,
	}
	return &proxy{up: up, transport: transport, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), cfg.UpstreamTimeout)
		defer cancel()
		if p := stateOf(r.Context()).early; p != nil {
			ctx = withPending(ctx, p)
		}
		rp.ServeHTTP(w, r.WithContext(ctx))
	})}, nil
}

// rewrite points the outbound request at the retrieval service and tells it
// who asks: the principal in the gateway's headers, never the token.
func rewrite(pr *httputil.ProxyRequest, up *url.URL, p auth.Principal) {
	pr.SetURL(up)
	pr.SetXForwarded()
	h := pr.Out.Header
	h.Del("Authorization")
	h.Del(headerSubject)
	h.Del(headerRole)
	if p.Subject != "" {
		h.Set(headerSubject, p.Subject)
		h.Set(headerRole, p.Role)
	}
}

// start writes r, a bodiless GET of principal p, to the retrieval service
// now, as the reverse proxy would send it, and leaves its answer to be read
// by the proxy (stateOf(ctx).early) or abandoned.
func (x *proxy) start(r *http.Request, p auth.Principal) *pendingExchange {
	out := r.Clone(r.Context())
	out.Body, out.ContentLength, out.Close, out.RequestURI = nil, 0, false, ""
	removeHopByHop(out.Header)
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		out.Header.Del(h)
	}
	rewrite(&httputil.ProxyRequest{In: r, Out: out}, x.up, p)
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header.Set("User-Agent", "") // as the reverse proxy does: no Go default
	}
	return x.transport.send(r.Context(), out)
}

// removeHopByHop drops the headers that concern only the client's hop
// (RFC 9110, 7.6.1), as the reverse proxy does.
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, f := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		h.Del(f)
	}
}
