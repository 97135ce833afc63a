package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/reelguard/reelguard/auth"
)

// subjectAuth authenticates every request as one principal.
type subjectAuth struct{ sub string }

func (a subjectAuth) VerifyContext(context.Context, string) (auth.Principal, error) {
	return auth.Principal{Subject: a.sub, Role: "service"}, nil
}

// counterValue reads a counter's value.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// shareStack is a gateway in front of a recommender that holds every
// request until released, then answers with answer (n: the request's
// number, from 1). get asks for user 5's recommendations.
type shareStack struct {
	g        *Gateway
	requests atomic.Int64
	arrived  chan struct{}
	release  func()
}

func newShareStack(t *testing.T, answer func(n int64, w http.ResponseWriter, r *http.Request)) *shareStack {
	t.Helper()
	s := &shareStack{arrived: make(chan struct{}, 8)}
	release := make(chan struct{})
	srv, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		s.arrived <- struct{}{}
		<-release
		answer(n, w, r)
	}, false)
	var once sync.Once
	s.release = func() { once.Do(func() { close(release) }) }
	t.Cleanup(s.release) // before the server's cleanup, which waits for its handlers
	g, err := New(Config{Upstream: srv.URL, UpstreamTimeout: time.Minute},
		Deps{Auth: subjectAuth{"frontend"}, Policy: allowAll{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	s.g = g
	return s
}

func (s *shareStack) get(ctx context.Context) (int, string) {
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/recommend/5", nil)
	r.Header.Set("Authorization", "Bearer whatever")
	w := httptest.NewRecorder()
	s.g.Handler().ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// concurrently sends three requests for one answer, the last two while the
// first is at the recommender, and releases it once both wait for it.
func (s *shareStack) concurrently(t *testing.T, ctx context.Context) (codes []int, bodies []string) {
	t.Helper()
	var wg sync.WaitGroup
	codes, bodies = make([]int, 3), make([]string, 3)
	wg.Go(func() { codes[0], bodies[0] = s.get(ctx) })
	<-s.arrived // the first is at the recommender
	for i := 1; i < 3; i++ {
		wg.Go(func() { codes[i], bodies[i] = s.get(ctx) })
	}
	shared := s.g.metrics.answerCache.WithLabelValues("shared")
	for deadline := time.Now().Add(10 * time.Second); counterValue(shared) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			s.release()
			wg.Wait()
			t.Fatalf("%v requests waited for the running fetch; want 2 (the recommender got %d)", counterValue(shared), s.requests.Load())
		}
	}
	s.release()
	wg.Wait()
	return codes, bodies
}

func answerPath(_ int64, w http.ResponseWriter, r *http.Request) {
	w.Header().Set(modelHeader, "m1")
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
}

// TestConcurrentMissesShareOneFetch: requests for one user's answer that
// arrive while it is being fetched wait for that fetch instead of asking
// the recommender again, and all get its answer.
func TestConcurrentMissesShareOneFetch(t *testing.T) {
	s := newShareStack(t, answerPath)
	codes, bodies := s.concurrently(t, context.Background())
	for i := range 3 {
		if codes[i] != 200 || bodies[i] != `{"path":"/recommend/5"}` {
			t.Errorf("request %d: %d %s", i, codes[i], bodies[i])
		}
	}
	if n := s.requests.Load(); n != 1 {
		t.Fatalf("the recommender got %d requests; want 1", n)
	}
}

// TestWaitersOfAFailedFetchAskForThemselves: when the fetch they wait for
// fails, the waiting requests go to the recommender at once (not after the
// upstream timeout, a minute here, longer than their clients wait) and get
// its answers.
func TestWaitersOfAFailedFetchAskForThemselves(t *testing.T) {
	s := newShareStack(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			http.Error(w, "model reloading", http.StatusInternalServerError)
			return
		}
		answerPath(n, w, r)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	codes, bodies := s.concurrently(t, ctx)
	if codes[0] != http.StatusServiceUnavailable {
		t.Errorf("the failed fetch's own request: %d %s; want 503 (no fallback list yet)", codes[0], bodies[0])
	}
	for i := 1; i < 3; i++ {
		if codes[i] != 200 || bodies[i] != `{"path":"/recommend/5"}` {
			t.Errorf("waiter %d: %d %s; want the answer it asked for itself", i, codes[i], bodies[i])
		}
	}
	if n := s.requests.Load(); n != 3 {
		t.Fatalf("the recommender got %d requests; want 3", n)
	}
}
