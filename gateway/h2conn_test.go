package gateway

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelguard/reelguard/certs"
)

// frame is one HTTP/2 frame's bytes: header and payload.
func frame(typ, flags byte, payloadLen int) []byte {
	f := make([]byte, frameHeaderLen+payloadLen)
	f[0], f[1], f[2] = byte(payloadLen>>16), byte(payloadLen>>8), byte(payloadLen)
	f[3], f[4] = typ, flags
	f[8] = 1 // stream 1
	for i := frameHeaderLen; i < len(f); i++ {
		f[i] = byte(i) // payload bytes that look like anything, headers included
	}
	return f
}

// TestTrackFollowsFramesAcrossWrites: whatever way a stream of frames is cut
// into writes, track says "hold" exactly for the writes that end at the end
// of a HEADERS frame with END_HEADERS and without END_STREAM.
func TestTrackFollowsFramesAcrossWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	types := []byte{0x0, 0x1, 0x3, 0x4, 0x8, 0x9} // DATA HEADERS RST_STREAM SETTINGS WINDOW_UPDATE CONTINUATION
	for trial := range 300 {
		var stream []byte
		holdAt := map[int]bool{} // stream offsets after which a write may be held
		for range 1 + rng.IntN(8) {
			typ, flags := types[rng.IntN(len(types))], byte(rng.IntN(256))
			stream = append(stream, frame(typ, flags, rng.IntN(3)*rng.IntN(300))...)
			holdAt[len(stream)] = typ == frameTypeHeaders && flags&flagEndHeaders != 0 && flags&flagEndStream == 0
		}
		c := &coalescingConn{}
		for off := 0; off < len(stream); {
			n := 1 + rng.IntN(len(stream)-off)
			if rng.IntN(3) == 0 { // often a whole frame or more, as bufio flushes them
				n = len(stream) - off
			}
			got := c.track(stream[off : off+n])
			off += n
			if want := holdAt[off]; got != want {
				t.Fatalf("trial %d: write ending at %d of %d: hold %v, want %v", trial, off, len(stream), got, want)
			}
		}
	}
}

// devTLS is a server config with a fresh dev CA's certificate and a pool
// trusting that CA.
func devTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	ca := t.TempDir()
	if _, err := certs.EnsureCA(ca); err != nil {
		t.Fatal(err)
	}
	conf, err := certs.ServerTLSConfig(ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := certs.CAPool(ca)
	if err != nil {
		t.Fatal(err)
	}
	return conf, pool
}

// tlsPair is a server-side coalescingConn over real TLS on loopback, the
// client end, and the count of the server's TCP writes.
func tlsPair(t *testing.T) (*coalescingConn, *tls.Conn, *atomic.Int64) {
	t.Helper()
	srvConf, pool := devTLS(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	writes := new(atomic.Int64)
	accepted := make(chan *tls.Conn, 1)
	go func() { // the server's handshake runs beside the client's
		raw, err := l.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		srv := tls.Server(&WriteCounter{Conn: raw, Writes: writes}, srvConf)
		_ = srv.Handshake()
		accepted <- srv
	}()
	client, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	srv := <-accepted
	if srv == nil {
		t.Fatal("accept failed")
	}
	cc := newCoalescingConn(srv)
	t.Cleanup(func() { cc.Close() })
	writes.Store(0)
	return cc, client, writes
}

// WriteCounter counts the Write calls on a connection (the gateway_test
// package's stacks count their public listener's so).
type WriteCounter struct {
	net.Conn
	Writes *atomic.Int64
}

func (c *WriteCounter) Write(p []byte) (int, error) {
	c.Writes.Add(1)
	return c.Conn.Write(p)
}

func readFull(t *testing.T, c *tls.Conn, n int) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return b
}

func TestCoalescingConnJoinsHeadersAndData(t *testing.T) {
	srv, client, writes := tlsPair(t)
	headers, data := frame(frameTypeHeaders, flagEndHeaders, 40), frame(0x0, flagEndStream, 300)
	if n, err := srv.Write(headers); err != nil || n != len(headers) {
		t.Fatalf("Write(headers) = %d, %v", n, err)
	}
	if w := writes.Load(); w != 0 {
		t.Fatalf("headers alone went out in %d writes; want them held", w)
	}
	if _, err := srv.Write(data); err != nil {
		t.Fatal(err)
	}
	if w := writes.Load(); w != 1 {
		t.Fatalf("headers and data took %d writes; want 1", w)
	}
	if got, want := readFull(t, client, len(headers)+len(data)), append(headers, data...); !bytes.Equal(got, want) {
		t.Fatal("the client read other bytes than were written")
	}
}

func TestCoalescingConnWritesOtherFramesAtOnce(t *testing.T) {
	srv, client, writes := tlsPair(t)
	for _, f := range [][]byte{
		frame(frameTypeHeaders, flagEndHeaders|flagEndStream, 20), // a whole response
		frame(frameTypeHeaders, 0, 20),                            // CONTINUATION follows
		frame(0x4, 0, 6),                                          // SETTINGS
	} {
		before := writes.Load()
		if _, err := srv.Write(f); err != nil {
			t.Fatal(err)
		}
		if w := writes.Load() - before; w != 1 {
			t.Fatalf("frame type %d flags %#x: %d writes; want 1 at once", f[3], f[4], w)
		}
		if got := readFull(t, client, len(f)); !bytes.Equal(got, f) {
			t.Fatal("the client read other bytes than were written")
		}
	}
}

// TestCoalescingConnSendsHeldHeadersAlone: headers whose data does not
// follow (a handler that streams) still reach the client, by the timer.
func TestCoalescingConnSendsHeldHeadersAlone(t *testing.T) {
	srv, client, _ := tlsPair(t)
	headers := frame(frameTypeHeaders, flagEndHeaders, 40)
	if _, err := srv.Write(headers); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, client, len(headers)); !bytes.Equal(got, headers) {
		t.Fatal("the client read other bytes than were written")
	}
}

func TestCoalescingConnCloseSendsHeld(t *testing.T) {
	srv, client, _ := tlsPair(t)
	srv.timer.Stop() // only Close may send them
	headers := frame(frameTypeHeaders, flagEndHeaders, 40)
	if _, err := srv.Write(headers); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, client, len(headers)); !bytes.Equal(got, headers) {
		t.Fatal("the client read other bytes than were written")
	}
}

// TestCoalescingConnCloseEndsABlockedWrite: a peer that reads nothing
// blocks a write; closing the connection must end it, not wait for it.
func TestCoalescingConnCloseEndsABlockedWrite(t *testing.T) {
	srv, _, _ := tlsPair(t) // the client never reads
	blocked := make(chan error, 1)
	go func() {
		chunk := frame(0x0, 0, 16<<10)
		for {
			if _, err := srv.Write(chunk); err != nil {
				blocked <- err
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // the socket buffers fill and a Write blocks
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a write to a peer that does not read")
	}
	select {
	case err := <-blocked:
		if err == nil {
			t.Fatal("the blocked write ended without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the blocked write did not end when the connection closed")
	}
}

// TestCoalescingConnReportsALateFailure: a held write that fails on the
// timer closes the connection and fails the next Write.
func TestCoalescingConnReportsALateFailure(t *testing.T) {
	srv, client, _ := tlsPair(t)
	client.Close()
	var err error
	for range 200 { // until the peer's reset has arrived
		if _, err = srv.Write(frame(frameTypeHeaders, flagEndHeaders, 40)); err != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err == nil {
		t.Fatal("writes to a closed peer kept succeeding")
	}
	if _, again := srv.Write(frame(0x0, 0, 10)); !errors.Is(again, err) {
		t.Fatalf("after a failed write, Write = %v; want the same failure %v", again, err)
	}
}

// TestServeHTTP2StreamsHeadersBeforeTheBody: a handler that sends its
// headers, then waits for the client to have them before writing its body,
// is not stalled by the held headers.
func TestServeHTTP2StreamsHeadersBeforeTheBody(t *testing.T) {
	srvConf, pool := devTLS(t)
	gotHeaders := make(chan struct{})
	srv := &http.Server{TLSConfig: srvConf, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-gotHeaders:
			_, _ = io.WriteString(w, "body")
		case <-time.After(10 * time.Second):
		}
	})}
	if err := serveHTTP2(srv); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { srv.Close() })
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatal(err) // the headers never came
	}
	defer resp.Body.Close()
	close(gotHeaders)
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "body" || resp.ProtoMajor != 2 {
		t.Fatalf("body %q, %v over %s; want \"body\" over HTTP/2", body, err, resp.Proto)
	}
}
