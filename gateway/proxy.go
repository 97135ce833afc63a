package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// Headers the gateway sets for the retrieval service; whatever a client
// sent under these names is dropped first.
const (
	headerSubject = "X-Reelguard-Subject"
	headerRole    = "X-Reelguard-Role"
)

// newProxy builds the reverse proxy to the retrieval service. Every failure
// (refused connection, timeout, a 5xx) goes to failed, which answers; ok
// hears of every answer below 500.
func newProxy(cfg Config, failed func(http.ResponseWriter, *http.Request, error), ok func()) (http.Handler, error) {
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
			pr.SetURL(up)
			pr.SetXForwarded()
			h := pr.Out.Header
			h.Del("Authorization")
			h.Del(headerSubject)
			h.Del(headerRole)
			if p, ok := principalFrom(pr.In.Context()); ok {
				h.Set(headerSubject, p.Subject)
				h.Set(headerRole, p.Role)
			}
		},
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 500 {
				return fmt.Errorf("upstream answered %d", resp.StatusCode)
			}
			for _, sh := range securityHeaderValues {
				resp.Header.Del(sh.name) // the gateway's own are set already
			}
			ok()
			return nil
		},
		ErrorHandler: failed,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), cfg.UpstreamTimeout)
		defer cancel()
		rp.ServeHTTP(w, r.WithContext(ctx))
	}), nil
}
