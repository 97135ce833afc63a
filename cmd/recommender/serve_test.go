package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
	"github.com/reelguard/reelguard/recommender/serve"
)

func popularity(version string, items ...string) *recommender.Model {
	var in []recommender.Interaction
	for i, it := range items {
		for u := range len(items) - i {
			in = append(in, recommender.Interaction{User: string(rune('1' + u)), Item: it, Weight: 1})
		}
	}
	return recommender.TrainPopularity(in, version)
}

// servedVersion reads the model field of a JSON /recommend answer.
func servedVersion(tb testing.TB, addr string) string {
	tb.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/recommend/42", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var body serve.Response
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		tb.Fatalf("GET /recommend/42: %d %v", resp.StatusCode, err)
	}
	return body.Model
}

// startServing runs serveModel on a fresh listener until the test ends.
func startServing(tb testing.TB, dir string, poll time.Duration) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		errc <- serveModel(ctx, ln, dir, serve.Config{Logger: logger}, serve.ReloadConfig{Interval: poll, RetryDelay: time.Millisecond, Load: modelLoader("")})
	}()
	tb.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			tb.Errorf("serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestServeReloadsPolledFolder(t *testing.T) {
	dir := t.TempDir()
	if err := recommender.Save(dir, popularity("v1", "a", "b"), recommender.SaveOptions{KeysDir: keysDir("")}); err != nil {
		t.Fatal(err)
	}
	addr := startServing(t, dir, 10*time.Millisecond)
	if v := servedVersion(t, addr); v != "v1" {
		t.Fatalf("serving %s, want v1", v)
	}
	if err := recommender.Save(dir, popularity("v2", "b", "a"), recommender.SaveOptions{KeysDir: keysDir("")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "v2 from the folder", func() bool { return servedVersion(t, addr) == "v2" })

	// A broken model does not replace v2. (A poll that caught the save
	// above half-written may have counted a failure already: count from here.)
	failures := func() float64 { return swapFailures(t, addr) }
	before := failures()
	if err := os.WriteFile(dir+"/"+recommender.ArtifactFile, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the failed reload to be counted", func() bool { return failures() > before })
	if v := servedVersion(t, addr); v != "v2" {
		t.Fatalf("after a broken save serving %s, want v2", v)
	}
}

func TestServeReloadsOnSIGHUP(t *testing.T) {
	// Catch SIGHUP in this test too, so it can never end the test binary
	// before the server has registered for it.
	own := make(chan os.Signal, 16)
	signal.Notify(own, syscall.SIGHUP)
	defer signal.Stop(own)

	dir := t.TempDir()
	if err := recommender.Save(dir, popularity("v1", "a"), recommender.SaveOptions{KeysDir: keysDir("")}); err != nil {
		t.Fatal(err)
	}
	addr := startServing(t, dir, -1) // polling off: only SIGHUP reloads
	if v := servedVersion(t, addr); v != "v1" {
		t.Fatalf("serving %s, want v1", v)
	}
	if err := recommender.Save(dir, popularity("v2", "a"), recommender.SaveOptions{KeysDir: keysDir("")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "v2 after SIGHUP", func() bool {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		return servedVersion(t, addr) == "v2"
	})
}

func containsLine(text, line string) bool {
	return slices.Contains(strings.Split(text, "\n"), line)
}

// swapFailures reads reelguard_recommender_model_swap_failures_total.
func swapFailures(t *testing.T, addr string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "reelguard_recommender_model_swap_failures_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	return 0
}
