package gateway

import (
	"net"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// connLimitListener closes connections beyond max from one IP, or beyond
// total in all, at accept, before any TLS work is spent on them: slow
// clients spread over many addresses cannot take every descriptor.
type connLimitListener struct {
	net.Listener
	max, total int
	rejected   prometheus.Counter

	mu    sync.Mutex
	perIP map[string]int
	open  int
}

func newConnLimitListener(l net.Listener, max, total int, rejected prometheus.Counter) *connLimitListener {
	return &connLimitListener{Listener: l, max: max, total: total, rejected: rejected, perIP: make(map[string]int)}
}

func (l *connLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if l.acquire(ip) {
			return &limitedConn{Conn: c, release: func() { l.releaseIP(ip) }}, nil
		}
		l.rejected.Inc()
		_ = c.Close()
	}
}

func (l *connLimitListener) acquire(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[ip] >= l.max || l.open >= l.total {
		return false
	}
	l.perIP[ip]++
	l.open++
	return true
}

func (l *connLimitListener) releaseIP(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// limitedConn gives its slot back exactly once, however often it is closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
