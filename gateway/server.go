package gateway

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Connection guards of the public listener. Slow clients cannot hold a
// connection open by trickling headers, and headers cannot grow without bound.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 16 << 10
	maxStreams        = 100 // HTTP/2 streams per connection
)

// PublicServer is the HTTPS server for Handler, with the connection guards.
// Serve it with ServePublic so the per-IP connection cap applies. It fails
// only for a TLS config that HTTP/2 refuses (TLS 1.2 cipher suites without
// AES-128-GCM).
func (g *Gateway) PublicServer(tlsConfig *tls.Config) (*http.Server, error) {
	srv := &http.Server{
		Handler:           g.Handler(),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams:      maxStreams,
			MaxReceiveBufferPerStream: 64 << 10,
			PingTimeout:               15 * time.Second,
			SendPingTimeout:           30 * time.Second,
		},
	}
	if err := serveHTTP2(srv); err != nil {
		return nil, err
	}
	return srv, nil
}

// ServePublic serves srv over TLS on l, closing connections beyond the
// per-IP cap at accept. It returns when srv is shut down.
func (g *Gateway) ServePublic(srv *http.Server, l net.Listener) error {
	limited := newConnLimitListener(l, g.cfg.MaxConnsPerIP, g.cfg.MaxConns, g.metrics.connRejected)
	err := srv.ServeTLS(limited, "", "")
	if err == http.ErrServerClosed {
		return nil
	}
	return err
}

// AdminServer is the plain-HTTP server for the loopback admin listener.
func (g *Gateway) AdminServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
}
