package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelguard/reelguard/gateway"
)

// failingRecommender serves /popular but answers every /recommend with a
// 500, counting how many reached it.
func failingRecommender(t *testing.T, hits *atomic.Int32) string {
	t.Helper()
	l := listen(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /popular", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `{"items":[{"id":"popular+1","score":1},{"id":"popular+2","score":0.5}],"model":"v9"}`)
	})
	mux.HandleFunc("GET /recommend/{userid}", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "internal detail: db at 10.0.0.7", http.StatusInternalServerError)
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

func TestFallbackAndBreaker(t *testing.T) {
	var hits atomic.Int32
	s := newStack(t, gateway.Config{Upstream: failingRecommender(t, &hits)}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.gw.Run(ctx) }()
	svc := s.token(t, "svc", "service")

	// Until the popular list is cached, a failure is a 503.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, h, body := s.get(t, s.url+"/recommend/42", svc)
		if code == http.StatusOK {
			if h.Get("X-Reelguard-Fallback") != "popular" || body != "popular+1,popular+2\n" {
				t.Fatalf("fallback answer %q (header %q)", body, h.Get("X-Reelguard-Fallback"))
			}
			break
		}
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("before the fallback: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var before int32
	for i := range 40 {
		if i == 20 { // by now five failures in a row have opened the breaker
			before = hits.Load()
		}
		code, _, body := s.get(t, s.url+"/recommend/7", svc, "Accept", "application/json")
		var doc struct {
			User     string
			Items    []struct{ ID string }
			Model    string
			Fallback bool
		}
		if err := json.Unmarshal([]byte(body), &doc); code != http.StatusOK || err != nil || !doc.Fallback || doc.User != "7" || doc.Model != "v9" || len(doc.Items) != 2 {
			t.Fatalf("JSON fallback: %d %s", code, body)
		}
	}
	// With the breaker open, the last 20 requests sent at most one probe upstream.
	if n := hits.Load() - before; n > 1 {
		t.Errorf("%d requests reached the failing upstream with the breaker open, want at most 1 probe", n)
	}
}
