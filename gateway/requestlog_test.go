package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/gateway"
)

// versionedRecommender answers like the retrieval service, naming the
// model version that produced each answer.
func versionedRecommender(t *testing.T, version string) string {
	t.Helper()
	l := listen(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /recommend/{userid}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Reelguard-Model", version)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "a+%s,b+%s\n", r.PathValue("userid"), r.PathValue("userid"))
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

func TestRequestLogNamesTheModel(t *testing.T) {
	s := newStack(t, gateway.Config{Upstream: versionedRecommender(t, "als-7")}, nil)
	svc := s.token(t, "svc", "service")
	for _, user := range []string{"1", "2", "1"} { // the second "1" comes from the answer cache
		if code, _, body := s.get(t, s.url+"/recommend/"+user, svc); code != http.StatusOK {
			t.Fatalf("user %s: %d %s", user, code, body)
		}
	}
	waitFor(t, func() bool { return len(s.sink.all()) >= 3 })
	for _, r := range s.sink.all() {
		if want := []events.Header{{Key: "model", Value: "als-7"}}; !slices.Equal(r.headers, want) {
			t.Errorf("record %q has headers %v, want %v", r.value, r.headers, want)
		}
	}
}

func TestRequestLogMarksFallbacks(t *testing.T) {
	var hits atomic.Int32
	s := newStack(t, gateway.Config{Upstream: failingRecommender(t, &hits)}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.gw.Run(ctx) }()
	svc := s.token(t, "svc", "service")
	waitFor(t, func() bool {
		code, _, _ := s.get(t, s.url+"/recommend/42", svc)
		return code == http.StatusOK
	})
	waitFor(t, func() bool {
		for _, r := range s.sink.all() {
			if slices.Contains(r.headers, events.Header{Key: "fallback", Value: "1"}) &&
				slices.Contains(r.headers, events.Header{Key: "model", Value: "v9"}) {
				return true
			}
		}
		return false
	})
	for _, r := range s.sink.all() {
		if slices.Contains(r.headers, events.Header{Key: "fallback", Value: "1"}) && !slices.Contains(r.headers, events.Header{Key: "model", Value: "v9"}) {
			t.Errorf("fallback record %q lacks the popular list's model: %v", r.value, r.headers)
		}
	}
}

// TestHealthMetrics: the upstream's breaker state and the alerts raised
// show on /metrics.
func TestHealthMetrics(t *testing.T) {
	var hits atomic.Int32
	s := newStack(t, gateway.Config{Upstream: failingRecommender(t, &hits)}, nil)
	metrics := func() string {
		_, _, body := s.get(t, s.admin+"/metrics", "")
		return body
	}
	if m := metrics(); !strings.Contains(m, "reelguard_upstream_up 1") {
		t.Fatalf("before any failure, want reelguard_upstream_up 1:\n%s", grepLines(m, "reelguard_upstream_up"))
	}
	svc := s.token(t, "svc", "service")
	for range 10 { // five failures in a row open the breaker
		s.get(t, s.url+"/recommend/42", svc)
	}
	waitFor(t, func() bool {
		m := metrics()
		return strings.Contains(m, "reelguard_upstream_up 0") &&
			strings.Contains(m, `reelguard_alerts_total{action=`) && strings.Contains(m, `kind="upstream"`)
	})
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestProfilesNeedAnAdmin: Go's profiles are on the admin listener for
// admins only.
func TestProfilesNeedAnAdmin(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	if code, _, _ := s.get(t, s.admin+"/admin/debug/pprof/", ""); code != http.StatusUnauthorized {
		t.Errorf("pprof without a token: %d, want 401", code)
	}
	if code, _, _ := s.get(t, s.admin+"/admin/debug/pprof/", s.token(t, "7", "user")); code != http.StatusForbidden {
		t.Errorf("pprof as a user: %d, want 403", code)
	}
	code, _, body := s.get(t, s.admin+"/admin/debug/pprof/", s.token(t, "ops", "admin"))
	if code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof as an admin: %d %.80s", code, body)
	}
	if code, _, _ := s.get(t, s.admin+"/admin/debug/pprof/profile?seconds=1", s.token(t, "ops", "admin")); code != http.StatusOK {
		t.Errorf("a CPU profile as an admin: %d", code)
	}
	code, _, body = s.get(t, s.admin+"/admin/debug/pprof/trace?seconds=1", s.token(t, "ops", "admin"))
	if code != http.StatusOK || !strings.HasPrefix(body, "go 1.") {
		t.Errorf("an execution trace as an admin: %d %.20q", code, body)
	}
	if code, _, _ := s.get(t, s.admin+"/admin/debug/pprof/trace?seconds=1", s.token(t, "7", "user")); code != http.StatusForbidden {
		t.Errorf("an execution trace as a user: %d, want 403", code)
	}
}
