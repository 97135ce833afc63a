package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countedServer is an httptest server that counts the connections it
// accepts.
func countedServer(t *testing.T, h http.HandlerFunc, tlsOn bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	conns := new(atomic.Int64)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, conns
}

func newTestUpstream(t *testing.T, srv *httptest.Server, timeout time.Duration) *upstreamTransport {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var tr *upstreamTransport
	if srv.TLS != nil {
		tr, err = newUpstreamTransport(u, srv.Client().Transport.(*http.Transport).TLSClientConfig, timeout, 4)
	} else {
		tr, err = newUpstreamTransport(u, nil, timeout, 4)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// fetch sends a GET for path through tr and reads the whole body.
func fetch(t *testing.T, tr http.RoundTripper, base, path string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func echoPath(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "path=%s host=%s", r.URL.Path, r.Host)
}

func TestUpstreamTransportKeepsConnectionsAlive(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		srv, conns := countedServer(t, echoPath, tlsOn)
		tr := newTestUpstream(t, srv, 5*time.Second)
		host := strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")
		for i := range 20 {
			code, body, err := fetch(t, tr, srv.URL, fmt.Sprintf("/recommend/%d", i))
			if err != nil || code != 200 || body != fmt.Sprintf("path=/recommend/%d host=%s", i, host) {
				t.Fatalf("tls %v, request %d: %d %q %v", tlsOn, i, code, body, err)
			}
		}
		if n := conns.Load(); n != 1 {
			t.Fatalf("tls %v: 20 requests in a row opened %d connections; want 1", tlsOn, n)
		}
	}
}

func TestUpstreamTransportReadsChunkedBodies(t *testing.T) {
	srv, conns := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush() // no Content-Length: chunked
		}
	}, false)
	tr := newTestUpstream(t, srv, 5*time.Second)
	for range 3 {
		if code, body, err := fetch(t, tr, srv.URL, "/"); err != nil || code != 200 || body != "part0;part1;part2;" {
			t.Fatalf("%d %q %v", code, body, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 chunked answers opened %d connections; want 1", n)
	}
}

// TestUpstreamTransportDropsUnfinishedConnections: a body closed before its
// end, or an answer with Connection: close, leaves its connection closed, and
// the next request gets its own answer whole on a new one.
func TestUpstreamTransportDropsUnfinishedConnections(t *testing.T) {
	srv, conns := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, r.URL.Path+":"+strings.Repeat("x", 64<<10))
	}, false)
	tr := newTestUpstream(t, srv, 5*time.Second)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/early", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, path := range []string{"/after-early", "/close"} {
		_, body, err := fetch(t, tr, srv.URL, path)
		if err != nil || !strings.HasPrefix(body, path+":") || len(body) != len(path)+1+64<<10 {
			t.Fatalf("%s: %d bytes starting %.20q, %v", path, len(body), body, err)
		}
	}
	// A POST is never sent twice, so it fails if it gets the closed one.
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/after-close", strings.NewReader("payload"))
	if resp, err = tr.RoundTrip(req); err != nil {
		t.Fatalf("POST after a Connection: close answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "/after-close:") {
		t.Fatalf("POST /after-close answered %.20q", body)
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections; want 3 (one after the early close, one after Connection: close)", n)
	}
}

// oneShotServer answers one request per connection and then closes it
// without saying so, as a server whose idle timeout just fired does.
func oneShotServer(t *testing.T) (string, *atomic.Int64) {
	return rawServer(t, func(c net.Conn, req *http.Request) {
		body := "answer " + req.URL.Path
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	})
}

// rawServer runs answer for the first request of each connection, then
// closes it.
func rawServer(t *testing.T, answer func(net.Conn, *http.Request)) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	conns := new(atomic.Int64)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				answer(c, req)
			}()
		}
	}()
	return "http://" + l.Addr().String(), conns
}

func TestUpstreamTransportRetriesOnAClosedIdleConnection(t *testing.T) {
	base, conns := oneShotServer(t)
	u, _ := url.Parse(base)
	tr, err := newUpstreamTransport(u, nil, 5*time.Second, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		time.Sleep(20 * time.Millisecond) // the server has closed the kept connection
		_, body, err := fetch(t, tr, base, fmt.Sprintf("/%d", i))
		if err != nil || body != fmt.Sprintf("answer /%d", i) {
			t.Fatalf("GET %d: %q %v; want it sent again on a new connection", i, body, err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections; want 3", n)
	}
	// A request with a body is not sent twice.
	time.Sleep(20 * time.Millisecond)
	req, _ := http.NewRequest(http.MethodPost, base+"/post", strings.NewReader("payload"))
	if resp, err := tr.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatal("a POST on a connection the server had closed was sent again")
	}
}

func TestUpstreamTransportSkipsInformationalAnswers(t *testing.T) {
	base, _ := rawServer(t, func(c net.Conn, req *http.Request) {
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"+
			"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal")
	})
	u, _ := url.Parse(base)
	tr, _ := newUpstreamTransport(u, nil, 5*time.Second, 4)
	if code, body, err := fetch(t, tr, base, "/"); err != nil || code != 200 || body != "final" {
		t.Fatalf("%d %q %v; want the final 200 answer", code, body, err)
	}
}

func TestUpstreamTransportTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, false)
	defer close(release)
	tr := newTestUpstream(t, srv, 100*time.Millisecond)
	start := time.Now()
	if _, _, err := fetch(t, tr, srv.URL, "/slow"); err == nil {
		t.Fatal("a server that never answers did not fail the request")
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("the request waited %v for a 100 ms timeout", waited)
	}

	// A canceled request ends at once, whatever its deadline.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow", nil)
	done := make(chan error, 1)
	go func() {
		_, err := newTestUpstream(t, srv, time.Hour).RoundTrip(req)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a canceled request succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a canceled request kept waiting")
	}
}

func TestUpstreamTransportRefusesOtherSchemes(t *testing.T) {
	u, _ := url.Parse("ftp://127.0.0.1:21")
	if _, err := newUpstreamTransport(u, nil, time.Second, 1); err == nil {
		t.Fatal("an ftp upstream was accepted")
	}
	u, _ = url.Parse("http://127.0.0.1:1") // nothing listens on port 1
	tr, _ := newUpstreamTransport(u, nil, time.Second, 1)
	if _, _, err := fetch(t, tr, "http://127.0.0.1:1", "/"); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("a refused connection gave %v; want the dial error", err)
	}
}
