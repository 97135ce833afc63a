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

// TestConcurrentMissesShareOneFetch: requests for one user's answer that
// arrive while it is being fetched wait for that fetch instead of asking
// the recommender again, and all get its answer.
func TestConcurrentMissesShareOneFetch(t *testing.T) {
	var requests atomic.Int64
	arrived, release := make(chan struct{}, 8), make(chan struct{})
	srv, _ := countedServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		arrived <- struct{}{}
		<-release
		w.Header().Set(modelHeader, "m1")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}, false)
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open) // before the server's cleanup, which waits for its handlers
	g, err := New(Config{Upstream: srv.URL, UpstreamTimeout: time.Minute},
		Deps{Auth: subjectAuth{"frontend"}, Policy: allowAll{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	h := g.Handler()
	get := func() (int, string) {
		r := httptest.NewRequest(http.MethodGet, "/recommend/5", nil)
		r.Header.Set("Authorization", "Bearer whatever")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	var wg sync.WaitGroup
	codes, bodies := make([]int, 3), make([]string, 3)
	wg.Go(func() { codes[0], bodies[0] = get() })
	<-arrived // the first is at the recommender
	for i := 1; i < 3; i++ {
		wg.Go(func() { codes[i], bodies[i] = get() })
	}
	shared := g.metrics.answerCache.WithLabelValues("shared")
	for deadline := time.Now().Add(10 * time.Second); metricValue(shared) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			open()
			wg.Wait()
			t.Fatalf("%v requests waited for the running fetch; want 2 (the recommender got %d)", metricValue(shared), requests.Load())
		}
	}
	open()
	wg.Wait()
	for i := range 3 {
		if codes[i] != 200 || bodies[i] != `{"path":"/recommend/5"}` {
			t.Errorf("request %d: %d %s", i, codes[i], bodies[i])
		}
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("the recommender got %d requests; want 1", n)
	}
}
