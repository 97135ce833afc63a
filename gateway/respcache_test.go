package gateway_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/reelguard/reelguard/gateway"
)

func TestAnswerCache(t *testing.T) {
	var hits atomic.Int32
	var model atomic.Value
	model.Store("v1")
	l := listen(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /recommend/{userid}", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-Reelguard-Model", model.Load().(string))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "movie+for+%s+%s\n", r.PathValue("userid"), model.Load())
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	s := newStack(t, gateway.Config{Upstream: "http://" + l.Addr().String()}, nil)
	tok := s.token(t, "svc", "service")

	_, _, first := s.get(t, s.url+"/recommend/42", tok)
	code, h, second := s.get(t, s.url+"/recommend/42", tok)
	if code != http.StatusOK || second != first || h.Get("X-Reelguard-Cache") != "hit" || hits.Load() != 1 {
		t.Fatalf("second read: %d %q (cache %q), upstream hits %d; want the cached answer and one hit",
			code, second, h.Get("X-Reelguard-Cache"), hits.Load())
	}
	if _, h, _ := s.get(t, s.url+"/recommend/42", tok, "Accept", "application/json"); h.Get("X-Reelguard-Cache") == "hit" {
		t.Error("the JSON form was answered from the text form's cache entry")
	}
	// Another user's answer from a new model empties the cache.
	model.Store("v2")
	s.get(t, s.url+"/recommend/43", tok)
	before := hits.Load()
	if _, _, body := s.get(t, s.url+"/recommend/42", tok); body != "movie+for+42+v2\n" || hits.Load() != before+1 {
		t.Errorf("after the model changed: %q, upstream hits +%d; want a fresh v2 answer", body, hits.Load()-before)
	}
	// A user may not read another's list from the cache either: policy comes first.
	if code, _, _ := s.get(t, s.url+"/recommend/42", s.token(t, "43", "user")); code != http.StatusForbidden {
		t.Errorf("user 43 reading 42's cached list: %d, want 403", code)
	}
}
