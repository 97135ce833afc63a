package serve_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
	"github.com/reelguard/reelguard/recommender/serve"
)

// testKeys holds the package tests' model signing key (see TestMain).
var testKeys string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reelguard-serve-keys-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testKeys = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func saveModel(tb testing.TB, dir string, m *recommender.Model) {
	tb.Helper()
	if err := recommender.Save(dir, m, recommender.SaveOptions{KeysDir: testKeys}); err != nil {
		tb.Fatal(err)
	}
}

// loadModel verifies with the tests' key.
func loadModel(dir string) (*recommender.Model, error) {
	return recommender.LoadWith(dir, recommender.LoadOptions{KeysDir: testKeys})
}

// waitFor polls cond for up to 10s: a deadline for a hung test, not a timing
// assertion.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestReloaderPollsFolder(t *testing.T) {
	dir := t.TempDir()
	saveModel(t, dir, popModel(t, "v1", "x", "y"))
	h := serve.New(popModel(t, "v1", "x", "y"), serve.Config{})
	r := serve.NewReloader(h, dir, serve.ReloadConfig{Interval: 5 * time.Millisecond, Attempts: 2, RetryDelay: time.Millisecond, Load: loadModel})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, nil) }()

	saveModel(t, dir, popModel(t, "v2", "y", "x"))
	waitFor(t, "v2 to be served", func() bool { return h.Model().Version() == "v2" })
	if body := do(t, h, "GET", "/recommend/5", "").Body.String(); body != "y,x\n" {
		t.Fatalf("after reload: %q", body)
	}

	// A broken model.json never replaces the good model; the failure counts.
	// (A poll that caught the save above half-written may have counted one
	// already: count from here.)
	failures := func() float64 { return metricValue(t, h, "reelguard_recommender_model_swap_failures_total") }
	before := failures()
	if err := os.WriteFile(filepath.Join(dir, recommender.ArtifactFile), []byte(`{"format":1,`), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the swap failure to be counted", func() bool { return failures() > before })
	if v := h.Model().Version(); v != "v2" {
		t.Fatalf("broken model replaced v2 with %s", v)
	}

	saveModel(t, dir, popModel(t, "v3", "x", "y"))
	waitFor(t, "v3 after the broken one", func() bool { return h.Model().Version() == "v3" })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

func TestReloaderTrigger(t *testing.T) {
	dir := t.TempDir()
	saveModel(t, dir, popModel(t, "v1", "x"))
	h := serve.New(nil, serve.Config{})
	r := serve.NewReloader(h, dir, serve.ReloadConfig{Interval: -1, Load: loadModel})
	trigger := make(chan os.Signal)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx, trigger)
	trigger <- os.Interrupt // any value asks for a reload
	waitFor(t, "the triggered load", func() bool { return h.Model() != nil && h.Model().Version() == "v1" })
	if code := do(t, h, "GET", "/readyz", "").Code; code != 200 {
		t.Fatalf("readyz after load = %d", code)
	}
}

func TestReloadRetriesThenKeepsModel(t *testing.T) {
	errSaving := errors.New("save in progress")
	calls := 0
	load := func(string) (*recommender.Model, error) {
		calls++
		if calls < 3 {
			return nil, errSaving
		}
		return popModel(t, "late", "x"), nil
	}
	h := serve.New(popModel(t, "v1", "x"), serve.Config{})
	r := serve.NewReloader(h, t.TempDir(), serve.ReloadConfig{Attempts: 3, RetryDelay: time.Millisecond, Load: load})
	if err := r.Reload(context.Background()); err != nil || h.Model().Version() != "late" {
		t.Fatalf("Reload = %v, serving %s; want the third attempt's model", err, h.Model().Version())
	}
	calls = -10 // every attempt fails now
	if err := r.Reload(context.Background()); !errors.Is(err, errSaving) || h.Model().Version() != "late" {
		t.Fatalf("failed Reload = %v, serving %s; want errSaving and the old model", err, h.Model().Version())
	}
}

// metricValue reads one unlabelled sample from the handler's /metrics.
func metricValue(tb testing.TB, h *serve.Handler, name string) float64 {
	tb.Helper()
	for _, line := range strings.Split(do(tb, h, "GET", "/metrics", "").Body.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				tb.Fatalf("metric %s: %v", name, err)
			}
			return v
		}
	}
	return 0
}
