package gateway

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// Go's HTTP/2 server sends a response as two frame writes, each flushed on
// its own: the HEADERS frame (the handler waits for it) and then the DATA
// frame that ends the stream. Each flush is a TLS record and a write system
// call, and on a busy gateway those system calls are the largest single
// cost of serving a request (a CPU profile under h2load: about a fifth).
// coalescingConn sits between the HTTP/2 server and the TLS connection and
// holds a flushed write that ends with a HEADERS frame not ending its stream,
// for at most holdHeaders: the DATA frame that almost always follows at once
// then goes out in the same record and the same system call. A handler that
// sends headers and then streams its body waits holdHeaders longer for its
// first byte, no more.
const holdHeaders = time.Millisecond

// HTTP/2 frame layout (RFC 9113, section 4.1).
const (
	frameHeaderLen   = 9
	frameTypeHeaders = 0x1
	flagEndStream    = 0x1
	flagEndHeaders   = 0x4
)

type coalescingConn struct {
	*tls.Conn // ConnectionState and the rest pass through

	mu    sync.Mutex
	held  []byte // written by the server, not yet to the connection
	timer *time.Timer
	err   error // a failed delayed write, returned by the next Write

	// Where the written byte stream is among its frames, across writes.
	head  [frameHeaderLen]byte // the frame header being read
	nhead int                  // bytes of head seen
	rest  int                  // payload bytes of the current frame still to come
	last  [2]byte              // type and flags of the last frame whose header was seen
}

func newCoalescingConn(c *tls.Conn) *coalescingConn {
	cc := &coalescingConn{Conn: c}
	cc.timer = time.AfterFunc(time.Hour, cc.flushHeld)
	cc.timer.Stop()
	return cc
}

// Write sends p, or holds it when it ends with a response's HEADERS frame
// that its DATA will follow.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.track(p) {
		if len(c.held) == 0 {
			c.timer.Reset(holdHeaders) // the first held byte waits no longer than this
		}
		c.held = append(c.held, p...)
		return len(p), nil
	}
	if len(c.held) == 0 {
		return c.Conn.Write(p)
	}
	c.timer.Stop()
	c.held = append(c.held, p...)
	err := c.writeHeld()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// track follows the frames in p and reports whether p ends exactly at the
// end of a complete HEADERS frame that leaves its stream open.
func (c *coalescingConn) track(p []byte) bool {
	for len(p) > 0 {
		if c.rest > 0 {
			n := min(c.rest, len(p))
			c.rest -= n
			p = p[n:]
			continue
		}
		n := copy(c.head[c.nhead:], p)
		c.nhead += n
		p = p[n:]
		if c.nhead == frameHeaderLen {
			c.rest = int(c.head[0])<<16 | int(c.head[1])<<8 | int(c.head[2])
			c.last = [2]byte{c.head[3], c.head[4]}
			c.nhead = 0
		}
	}
	return c.rest == 0 && c.nhead == 0 && c.last[0] == frameTypeHeaders &&
		c.last[1]&flagEndHeaders != 0 && c.last[1]&flagEndStream == 0
}

// writeHeld sends the held bytes; c.mu is held.
func (c *coalescingConn) writeHeld() error {
	_, err := c.Conn.Write(c.held)
	c.held = c.held[:0]
	if err != nil {
		c.err = err
	}
	return err
}

// flushHeld sends what the timer found still held. A failure closes the
// connection, so the server's reader notices at once.
func (c *coalescingConn) flushHeld() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.held) == 0 || c.err != nil {
		return
	}
	if c.writeHeld() != nil {
		_ = c.Conn.Close()
	}
}

// closeFlushTimeout bounds the last send of held bytes when closing.
const closeFlushTimeout = time.Second

// Close sends anything held, then closes. A write blocked on a peer that
// does not read holds the lock: Close then closes at once, which ends that
// write too (waiting for the lock would wait for ever).
func (c *coalescingConn) Close() error {
	c.timer.Stop()
	if c.mu.TryLock() {
		if len(c.held) > 0 && c.err == nil {
			_ = c.Conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
			_ = c.writeHeld()
		}
		c.mu.Unlock()
	}
	return c.Conn.Close()
}

// serveHTTP2 makes srv serve HTTP/2 over TLS through coalescingConn, with
// the HTTP/2 settings of srv.HTTP2. It replaces net/http's built-in HTTP/2
// server by x/net/http2's, the same code, which accepts any net.Conn.
func serveHTTP2(srv *http.Server) error {
	h2 := &http2.Server{}
	if err := http2.ConfigureServer(srv, h2); err != nil {
		return err
	}
	srv.TLSNextProto["h2"] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
		ctx := context.Background()
		if bc, ok := h.(interface{ BaseContext() context.Context }); ok {
			ctx = bc.BaseContext() // net/http's per-connection context
		}
		h2.ServeConn(newCoalescingConn(c), &http2.ServeConnOpts{Context: ctx, Handler: h, BaseConfig: hs})
	}
	delete(srv.TLSNextProto, "unencrypted_http2") // no cleartext HTTP/2 here
	return nil
}
