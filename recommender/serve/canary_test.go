package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender/serve"
)

// canaryHandler serves main "m1" (first item x) and canary "c1" (first
// item z) with the given share.
func canaryHandler(tb testing.TB, share float64, cfg serve.Config) *serve.Handler {
	tb.Helper()
	cfg.Canary.Share = share
	h := serve.New(popModel(tb, "m1", "x", "y", "z"), cfg)
	h.SwapCanary(popModel(tb, "c1", "z", "y", "x"))
	return h
}

// servedBy asks for user's recommendations and returns the version the
// header names, checking the body agrees with it (JSON field and first
// item: x for an m* model, z for a c* model).
func servedBy(tb testing.TB, h *serve.Handler, user string) string {
	tb.Helper()
	rec := do(tb, h, "GET", "/recommend/"+user, "application/json")
	var got serve.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
		tb.Fatalf("user %s: %d %s (%v)", user, rec.Code, rec.Body, err)
	}
	header := rec.Header().Get(serve.ModelHeader)
	first := map[byte]string{'m': "x", 'c': "z"}[got.Model[0]]
	if header != got.Model || len(got.Items) == 0 || got.Items[0].Item != first {
		tb.Fatalf("user %s: header %q, body %+v: the answer does not name its model", user, header, got)
	}
	return got.Model
}

// TestCanaryShareExact: over user ids 1..10000 the handler sends exactly
// the users InCanary picks to the canary, and that count is near the share.
func TestCanaryShareExact(t *testing.T) {
	tests := []struct {
		share    float64
		min, max int // the exact count when computed apart, else > 4 binomial sd
	}{
		{0, 0, 0},
		{0.05, 494, 494}, // computed apart (Python) from the same hash
		{0.5, 4800, 5200},
		{1, 10000, 10000},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.share), func(t *testing.T) {
			h := canaryHandler(t, tc.share, serve.Config{CacheSize: -1})
			want, got := 0, 0
			for u := 1; u <= 10000; u++ {
				user := fmt.Sprint(u)
				in := serve.InCanary(user, tc.share)
				if in {
					want++
				}
				rec := do(t, h, "GET", "/recommend/"+user, "")
				if v := rec.Header().Get(serve.ModelHeader); (v == "c1") != in {
					t.Fatalf("user %s served by %s, InCanary %v", user, v, in)
				} else if v == "c1" {
					got++
				}
			}
			if got != want || got < tc.min || got > tc.max {
				t.Fatalf("canary served %d of 10000 (hash says %d), want %d..%d", got, want, tc.min, tc.max)
			}
			metrics := do(t, h, "GET", "/metrics", "").Body.String()
			line := fmt.Sprintf(`reelguard_recommender_model_answers_total{arm="canary",version="c1"} %d`, got)
			if got > 0 && !strings.Contains(metrics, line+"\n") {
				t.Errorf("metrics lack %q", line)
			}
			share := fmt.Sprintf("reelguard_recommender_canary_share %g\n", tc.share)
			if !strings.Contains(metrics, share) {
				t.Errorf("metrics lack %q", share)
			}
			models := map[bool]string{true: "m1", false: "m1,c1"}[tc.share == 0]
			if v := do(t, h, "GET", "/recommend/1", "").Header().Get(serve.ModelsHeader); v != models {
				t.Errorf("%s = %q, want %q", serve.ModelsHeader, v, models)
			}
		})
	}
}

func TestCanaryBucketPinned(t *testing.T) {
	// FNV-1a 64 of "reelguard-canary/v1\x00"+id mod 10000, computed apart
	// (Python): a change of hash or salt reshuffles every user, which must
	// be a deliberate decision, not an accident.
	for user, want := range map[string]int{"1": 20, "42": 2571, "": 9949} {
		if got := serve.CanaryBucket(user); got != want {
			t.Errorf("bucket of %q = %d, want %d", user, got, want)
		}
	}
	if serve.InCanary("7", math.NaN()) || serve.InCanary("7", -1) || !serve.InCanary("7", 2) {
		t.Error("NaN or negative share routes to the canary, or a share above 1 does not")
	}
}

// TestCanarySticky: a user keeps their arm across calls, a canary reload
// and a main reload; each answer names the version that produced it.
func TestCanarySticky(t *testing.T) {
	h := canaryHandler(t, 0.3, serve.Config{})
	arms := map[string]bool{} // user -> in canary
	for u := 1; u <= 200; u++ {
		user := fmt.Sprint(u)
		v := servedBy(t, h, user)
		arms[user] = v == "c1"
		if again := servedBy(t, h, user); again != v {
			t.Fatalf("user %s: %s then %s", user, v, again)
		}
	}
	steps := []struct {
		name       string
		swap       func()
		main, cand string
	}{
		{"canary reloaded", func() { h.SwapCanary(popModel(t, "c2", "z", "x", "y")) }, "m1", "c2"},
		{"main reloaded", func() { h.Swap(popModel(t, "m2", "x", "z", "y")) }, "m2", "c2"},
	}
	for _, st := range steps {
		st.swap()
		for user, canary := range arms {
			want := st.main
			if canary {
				want = st.cand
			}
			if got := servedBy(t, h, user); got != want {
				t.Fatalf("%s: user %s got %s, want %s", st.name, user, got, want)
			}
		}
	}
	if rec := do(t, h, "GET", "/recommend/1", ""); rec.Header().Get(serve.ModelsHeader) != "m2,c2" {
		t.Errorf("%s = %q, want m2,c2", serve.ModelsHeader, rec.Header().Get(serve.ModelsHeader))
	}
	if n := countTrue(arms); n == 0 || n == len(arms) {
		t.Fatalf("%d of %d users in the canary: the test sees only one arm", n, len(arms))
	}
}

func countTrue(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// TestCanaryUnloadedFallsBackToMain: before the canary loads, and after it
// is withdrawn, its users get the main model.
func TestCanaryUnloadedFallsBackToMain(t *testing.T) {
	h := serve.New(popModel(t, "m1", "x", "y"), serve.Config{Canary: serve.CanaryConfig{Share: 1}})
	if v := servedBy(t, h, "5"); v != "m1" {
		t.Fatalf("no canary loaded: served by %s", v)
	}
	h.SwapCanary(popModel(t, "c1", "z", "y"))
	if v := servedBy(t, h, "5"); v != "c1" {
		t.Fatalf("share 1: served by %s", v)
	}
	h.SwapCanary(nil)
	if v := servedBy(t, h, "5"); v != "m1" {
		t.Fatalf("canary withdrawn: served by %s", v)
	}
	if rec := do(t, h, "GET", "/recommend/5", ""); rec.Header().Get(serve.ModelsHeader) != "m1" {
		t.Errorf("%s = %q after the canary went", serve.ModelsHeader, rec.Header().Get(serve.ModelsHeader))
	}
}

// TestCanaryAccessLog: every answer's log line names its model and arm.
func TestCanaryAccessLog(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	h := canaryHandler(t, 0.5, serve.Config{Logger: logger, AccessLog: true})
	want := map[string]string{}
	for u := 1; u <= 40; u++ {
		user := fmt.Sprint(u)
		want[user] = servedBy(t, h, user)
	}
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec struct{ Msg, User, Model, Arm string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Msg != "recommendation" {
			continue
		}
		lines++
		arm := map[string]string{"m1": serve.ArmMain, "c1": serve.ArmCanary}[want[rec.User]]
		if rec.Model != want[rec.User] || rec.Arm != arm {
			t.Errorf("log line %s: want model %s arm %s", line, want[rec.User], arm)
		}
	}
	if lines != 40 {
		t.Fatalf("%d access log lines for 40 answers:\n%s", lines, buf.String())
	}
}

// TestReloaderLoadsCanary: Run loads the canary folder at start and swaps
// in a new canary when the folder changes.
func TestReloaderLoadsCanary(t *testing.T) {
	mainDir, canaryDir := t.TempDir(), t.TempDir()
	saveModel(t, mainDir, popModel(t, "m1", "x", "y"))
	saveModel(t, canaryDir, popModel(t, "c1", "z", "y"))
	h := serve.New(popModel(t, "m1", "x", "y"), serve.Config{Canary: serve.CanaryConfig{Dir: canaryDir, Share: 1}})
	r := serve.NewReloader(h, mainDir, serve.ReloadConfig{Interval: 5 * time.Millisecond, RetryDelay: time.Millisecond, Load: loadModel})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx, nil)
	waitFor(t, "the canary to load", func() bool { return h.Canary() != nil && h.Canary().Version() == "c1" })
	if v := servedBy(t, h, "9"); v != "c1" {
		t.Fatalf("served by %s, want c1", v)
	}
	saveModel(t, canaryDir, popModel(t, "c2", "z", "x"))
	waitFor(t, "c2", func() bool { return h.Canary().Version() == "c2" })
	if h.Model().Version() != "m1" {
		t.Errorf("a canary reload changed main to %s", h.Model().Version())
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// BenchmarkCanaryAnswer is the request path with a canary at 5%: go test
// -run '^$' -bench CanaryAnswer -benchtime 20000x ./recommender/serve/
func BenchmarkCanaryAnswer(b *testing.B) {
	for _, share := range []float64{0, 0.05} {
		b.Run(fmt.Sprint(share), func(b *testing.B) {
			h := canaryHandler(b, share, serve.Config{})
			reqs := make([]*http.Request, 1000)
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", fmt.Sprintf("/recommend/%d", i), nil)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				h.ServeHTTP(httptest.NewRecorder(), reqs[i%len(reqs)])
			}
		})
	}
}
