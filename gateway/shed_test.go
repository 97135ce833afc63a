package gateway_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/reelguard/reelguard/gateway"
)

// With three requests stuck upstream and room for four, an anonymous
// request is shed (it may use only three) while one with a token is served.
func TestOverloadShedsAnonymousFirst(t *testing.T) {
	l := listen(t)
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(3)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	s := newStack(t, gateway.Config{Upstream: "http://" + l.Addr().String(), UpstreamTimeout: time.Minute, MaxInFlight: 4}, nil)
	svc := s.token(t, "svc", "service")
	var stuck sync.WaitGroup
	for i := range 3 { // three users: requests for one would share one upstream request
		stuck.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, s.url+"/recommend/"+strconv.Itoa(41+i), nil)
			req.Header.Set("Authorization", "Bearer "+svc)
			if resp, err := s.client.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	arrived.Wait()

	code, h, body := s.get(t, s.url+"/healthz", "")
	if code != http.StatusServiceUnavailable || errorReason(t, h, body) != "overloaded" || h.Get("Retry-After") == "" {
		t.Errorf("anonymous request under load: %d %s, want 503 overloaded with Retry-After", code, body)
	}
	if code, _, body := s.get(t, s.url+"/nope", svc); code != http.StatusNotFound {
		t.Errorf("request with a token under load: %d %s, want it served (404)", code, body)
	}
	close(release)
	stuck.Wait()
	if code, _, _ := s.get(t, s.url+"/healthz", ""); code != http.StatusOK {
		t.Errorf("after the load: %d, want 200", code)
	}
}
