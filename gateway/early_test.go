package gateway

import (
	"context"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/gateway/ratelimit"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// getRequest is a bodiless GET of path on srv's address, under ctx.
func getRequest(t *testing.T, ctx context.Context, base, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestEarlyExchangeIsTheOneRoundTripReads: a request sent ahead reaches
// the service before anyone reads its answer, and RoundTrip with it in the
// context reads that answer instead of sending the request again.
func TestEarlyExchangeIsTheOneRoundTripReads(t *testing.T) {
	arrived := make(chan string, 4)
	var requests atomic.Int64
	srv, conns := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		arrived <- r.URL.Path
		echoPath(w, r)
	}, false)
	tr := newTestUpstream(t, srv, 5*time.Second)

	p := tr.send(context.Background(), getRequest(t, context.Background(), srv.URL, "/early"))
	select {
	case got := <-arrived: // nothing has read the answer yet
		if got != "/early" {
			t.Fatalf("service got %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the early request never reached the service")
	}
	// The proxy's own request (another path, to tell them apart) is not sent.
	ctx := withPending(context.Background(), p)
	resp, err := tr.RoundTrip(getRequest(t, ctx, srv.URL, "/proxied"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "path=/early ") || requests.Load() != 1 {
		t.Fatalf("answer %q after %d requests; want the early one's, alone", body, requests.Load())
	}
	if p.abandon() {
		t.Fatal("an exchange RoundTrip took was abandoned too")
	}
	// Its connection went back to the pool.
	if code, _, err := fetch(t, tr, srv.URL, "/next"); err != nil || code != 200 || conns.Load() != 1 {
		t.Fatalf("next: %d %v over %d connections; want 200 over 1", code, err, conns.Load())
	}
}

// TestAbandonedExchangeKeepsItsConnection: an exchange nobody takes has
// its answer read and dropped, and its connection serves the next request.
func TestAbandonedExchangeKeepsItsConnection(t *testing.T) {
	var requests atomic.Int64
	srv, conns := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		echoPath(w, r)
	}, false)
	tr := newTestUpstream(t, srv, 5*time.Second)

	p := tr.send(context.Background(), getRequest(t, context.Background(), srv.URL, "/refused"))
	if !p.abandon() {
		t.Fatal("abandon: not abandoned")
	}
	if p.abandon() {
		t.Fatal("abandoned twice")
	}
	// Once the dropped answer is read, the connection is idle again.
	deadline := time.Now().Add(10 * time.Second)
	for idle(tr) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if code, body, err := fetch(t, tr, srv.URL, "/next"); err != nil || code != 200 || !strings.HasPrefix(body, "path=/next ") {
		t.Fatalf("next: %d %q %v", code, body, err)
	}
	if conns.Load() != 1 || requests.Load() != 2 {
		t.Fatalf("%d connections, %d requests; want 1 and 2", conns.Load(), requests.Load())
	}
}

// TestAbandonedExchangeOfAGoneClientIsClosed: when the client's request
// has ended, its exchange's deadline was cut, and the connection is closed
// rather than kept with an answer still on it.
func TestAbandonedExchangeOfAGoneClientIsClosed(t *testing.T) {
	srv, conns := countedServer(t, echoPath, false)
	tr := newTestUpstream(t, srv, 5*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	p := tr.send(ctx, getRequest(t, ctx, srv.URL, "/gone"))
	cancel()
	if !p.abandon() {
		t.Fatal("abandon: not abandoned")
	}
	if n := idle(tr); n != 0 {
		t.Fatalf("%d idle connections after abandoning a cut exchange; want 0", n)
	}
	if code, _, err := fetch(t, tr, srv.URL, "/next"); err != nil || code != 200 || conns.Load() != 2 {
		t.Fatalf("next: %d %v over %d connections; want 200 over a second one", code, err, conns.Load())
	}
}

// TestEarlyExchangeOnAClosedConnectionIsSentAgain: an early request that
// went out on a kept-alive connection the service had closed is sent again
// on a new one, as any bodiless request is.
func TestEarlyExchangeOnAClosedConnectionIsSentAgain(t *testing.T) {
	base, accepted := oneShotServer(t)
	u, _ := url.Parse(base)
	tr, err := newUpstreamTransport(u, nil, 5*time.Second, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	if code, _, err := fetch(t, tr, base, "/first"); err != nil || code != 200 {
		t.Fatalf("first: %d %v", code, err)
	}
	time.Sleep(50 * time.Millisecond) // the service closes that connection
	p := tr.send(context.Background(), getRequest(t, context.Background(), base, "/early"))
	if !p.reused {
		t.Fatal("the early request did not take the kept-alive connection")
	}
	resp, err := tr.RoundTrip(getRequest(t, withPending(context.Background(), p), base, "/early"))
	if err != nil {
		t.Fatalf("early request on a closed connection: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || accepted.Load() != 2 {
		t.Fatalf("%d after %d connections; want 200 after 2", resp.StatusCode, accepted.Load())
	}
}

// idle is how many connections tr keeps for the next request.
func idle(tr *upstreamTransport) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.idle)
}

// gatedRedis is a TCP proxy to a redis-server that, while armed, holds
// every reply until the upstream has received a request (released) or a
// few seconds have passed (late).
type gatedRedis struct {
	addr     string
	armed    atomic.Bool
	released chan struct{}
	once     sync.Once
	late     atomic.Bool
}

func newGatedRedis(t *testing.T, redisURL string) *gatedRedis {
	t.Helper()
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	g := &gatedRedis{addr: l.Addr().String(), released: make(chan struct{})}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", u.Host)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() {
				defer c.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 && g.armed.Load() {
						select {
						case <-g.released:
						case <-time.After(3 * time.Second):
							g.late.Store(true)
						}
					}
					if n > 0 {
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return g
}

func (g *gatedRedis) release() { g.once.Do(func() { close(g.released) }) }

// subjectAuth authenticates every request as one user.
type subjectAuth struct{ sub string }

func (a subjectAuth) VerifyContext(context.Context, string) (auth.Principal, error) {
	return auth.Principal{Subject: a.sub, Role: "user", TokenID: "jti-" + a.sub}, nil
}

// earlyStack is a gateway deciding through Redis (behind gated) in front
// of a recommender that counts what reaches it and releases the gate.
type earlyStack struct {
	g        *Gateway
	gate     *gatedRedis
	other    Guard // another replica's, straight to Redis
	requests atomic.Int64
	conns    *atomic.Int64
}

func newEarlyStack(t *testing.T, user ratelimit.Rate) *earlyStack {
	t.Helper()
	url := testRedisURL(t)
	s := &earlyStack{gate: newGatedRedis(t, url)}
	srv, conns := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.gate.release()
		w.Header().Set(modelHeader, "m1")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q,"items":[1,2,3],"subject":%q}`, r.URL.Path, r.Header.Get(headerSubject))
	}, false)
	s.conns = conns
	guards := replicaGuards(t, "redis://"+s.gate.addr+"/0", url)
	guard := guards[0]
	s.other = guards[1]
	g, err := New(Config{Upstream: srv.URL, Tiers: map[string]ratelimit.Rate{"user": user}},
		Deps{Auth: subjectAuth{"alice"}, Policy: allowAll{}, Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	s.g = g
	return s
}

func (s *earlyStack) get(t *testing.T, user string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/recommend/"+user, nil)
	r.Header.Set("Authorization", "Bearer whatever")
	w := httptest.NewRecorder()
	s.g.Handler().ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func (s *earlyStack) early(result string) float64 {
	return metricValue(s.g.metrics.earlyUpstream.WithLabelValues(result))
}

// TestUpstreamRequestGoesOutDuringTheRedisRoundTrip: for an answer-cache
// miss the recommender receives the request while Redis's verdict is still
// on its way (the proxy in front of Redis holds every reply until then),
// and the answer is served once the verdict allows it; a cached answer
// starts nothing upstream.
func TestUpstreamRequestGoesOutDuringTheRedisRoundTrip(t *testing.T) {
	s := newEarlyStack(t, ratelimit.Rate{PerSecond: 1000, Burst: 1000})
	if code, body := s.get(t, "1"); code != 200 { // connections made, the script loaded
		t.Fatalf("warm-up: %d %s", code, body)
	}
	s.gate.armed.Store(true)
	code, body := s.get(t, "2")
	if code != 200 || !strings.Contains(body, `"path":"/recommend/2"`) || !strings.Contains(body, `"subject":"alice"`) {
		t.Fatalf("GET /recommend/2: %d %s", code, body)
	}
	if s.gate.late.Load() {
		t.Fatal("Redis answered before the recommender had the request: the two round trips did not overlap")
	}
	if got := metricValue(s.g.metrics.LimiterDegraded); got != 0 {
		t.Fatalf("limiter degraded %v: the verdict did not come from Redis", got)
	}
	if s.requests.Load() != 2 || s.early("started") != 2 || s.early("abandoned") != 0 {
		t.Fatalf("recommender saw %d requests, %v started early, %v abandoned; want 2, 2, 0",
			s.requests.Load(), s.early("started"), s.early("abandoned"))
	}
	s.gate.armed.Store(false)
	if code, body := s.get(t, "2"); code != 200 || !strings.Contains(body, `"path":"/recommend/2"`) {
		t.Fatalf("cached GET /recommend/2: %d %s", code, body)
	}
	if s.requests.Load() != 2 || s.early("started") != 2 {
		t.Fatalf("a cached answer reached the recommender (%d requests, %v early)", s.requests.Load(), s.early("started"))
	}
}

// TestEarlyUpstreamRequestOfARefusedRequestIsDropped: a request Redis then
// refuses (over its limit, or its subject blocked by another replica) gets
// the refusal, never the answer fetched early, which is dropped; a key the
// gateway already knows is over its limit starts nothing upstream.
func TestEarlyUpstreamRequestOfARefusedRequestIsDropped(t *testing.T) {
	s := newEarlyStack(t, ratelimit.Rate{PerSecond: 1.0 / 60, Burst: 1})
	if code, body := s.get(t, "1"); code != 200 {
		t.Fatalf("first: %d %s", code, body)
	}
	code, body := s.get(t, "2")
	if code != http.StatusTooManyRequests || strings.Contains(body, "items") {
		t.Fatalf("over the limit: %d %s; want 429 without the answer", code, body)
	}
	if s.early("started") != 2 || s.early("abandoned") != 1 {
		t.Fatalf("%v started early, %v abandoned; want 2 and 1", s.early("started"), s.early("abandoned"))
	}
	// The key is now known over its limit: no round trip, nothing upstream.
	before := s.requests.Load()
	if code, _ := s.get(t, "3"); code != http.StatusTooManyRequests {
		t.Fatalf("third: %d; want 429", code)
	}
	if s.early("started") != 2 || s.requests.Load() != before {
		t.Fatalf("a locally refused request went upstream (%v early, %d requests)", s.early("started"), s.requests.Load())
	}
}

func TestEarlyUpstreamRequestOfABlockedSubjectIsDropped(t *testing.T) {
	s := newEarlyStack(t, ratelimit.Rate{PerSecond: 1000, Burst: 1000})
	if code, body := s.get(t, "1"); code != 200 {
		t.Fatalf("first: %d %s", code, body)
	}
	// Another replica blocks alice: this one learns it from the round trip.
	if err := s.other.Block(context.Background(), ratelimit.KindSubject, "alice", time.Minute); err != nil {
		t.Fatal(err)
	}
	code, body := s.get(t, "2")
	if code != http.StatusForbidden || strings.Contains(body, "items") {
		t.Fatalf("blocked: %d %s; want 403 without the answer", code, body)
	}
	if s.early("started") != 2 || s.early("abandoned") != 1 {
		t.Fatalf("%v started early, %v abandoned; want 2 and 1", s.early("started"), s.early("abandoned"))
	}
	// The dropped answer is read off its connection, which serves again.
	deadline := time.Now().Add(10 * time.Second)
	for idle(s.g.proxy.transport) < 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := idle(s.g.proxy.transport); n != 1 || s.conns.Load() != 1 {
		t.Fatalf("%d idle upstream connections of %d made; want the one, kept", n, s.conns.Load())
	}
}

// metricValue reads a counter's or a gauge's value.
func metricValue(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// TestEarlyRequestIsTheProxysRequest: the request sent early carries what
// the reverse proxy would have sent: the same path and headers, the token
// and hop-by-hop headers dropped, the principal's headers set.
func TestEarlyRequestIsTheProxysRequest(t *testing.T) {
	seen := make(chan *http.Request, 2)
	srv, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r
		w.WriteHeader(http.StatusNoContent)
	}, false)
	x, err := newProxy(Config{Upstream: srv.URL, UpstreamTimeout: 5 * time.Second},
		func(w http.ResponseWriter, _ *http.Request, err error) { t.Errorf("proxy failed: %v", err) }, func() {})
	if err != nil {
		t.Fatal(err)
	}
	p := auth.Principal{Subject: "alice", Role: "user"}
	incoming := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/recommend/7?k=5", nil)
		r.RemoteAddr = "192.0.2.9:4567"
		for k, v := range map[string]string{"Authorization": "Bearer secret", "Accept": "application/json",
			"Connection": "X-Hop", "X-Hop": "1", "Te": "gzip", "X-Forwarded-For": "10.0.0.1",
			headerSubject: "mallory", "X-Other": "kept"} {
			r.Header.Set(k, v)
		}
		return r.WithContext(context.WithValue(r.Context(), principalKey, p))
	}
	x.ServeHTTP(httptest.NewRecorder(), incoming())
	proxied := <-seen
	e := x.start(incoming(), p)
	early := <-seen
	e.abandon()
	if proxied.URL.String() != early.URL.String() || proxied.Method != early.Method {
		t.Fatalf("early %s %s; proxied %s %s", early.Method, early.URL, proxied.Method, proxied.URL)
	}
	if !reflect.DeepEqual(proxied.Header, early.Header) {
		t.Fatalf("headers differ:\nproxied %v\nearly   %v", proxied.Header, early.Header)
	}
	h := early.Header
	if h.Get("Authorization") != "" || h.Get("X-Hop") != "" || h.Get(headerSubject) != "alice" ||
		h.Get("X-Forwarded-For") != "192.0.2.9" || h.Get("X-Other") != "kept" {
		t.Fatalf("early request's headers: %v", h)
	}
}
