package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
	"github.com/reelguard/reelguard/recommender/serve"
)

func TestCanaryShareFlag(t *testing.T) {
	tests := []struct {
		value string
		ok    bool
	}{
		{"0", true}, {"0.05", true}, {"1", true},
		{"1.5", false}, {"-0.1", false}, {"NaN", false}, {"five", false},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			var s shareFlag
			if err := s.Set(tc.value); (err == nil) != tc.ok {
				t.Fatalf("Set(%q) = %v", tc.value, err)
			}
			if tc.ok {
				return
			}
			var stderr strings.Builder
			code := Main([]string{"serve", "--model", t.TempDir(), "--canary-share", tc.value}, nil, io.Discard, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), "canary-share") {
				t.Fatalf("serve --canary-share %s: exit %d, stderr %q", tc.value, code, stderr.String())
			}
		})
	}
}

// TestServeCanary: serve with --canary at share 1 answers from the canary
// folder's model once it has loaded, and swaps in its next version.
func TestServeCanary(t *testing.T) {
	mainDir, canaryDir := t.TempDir(), t.TempDir()
	save := func(dir string, m *recommender.Model) {
		t.Helper()
		if err := recommender.Save(dir, m, recommender.SaveOptions{KeysDir: keysDir("")}); err != nil {
			t.Fatal(err)
		}
	}
	save(mainDir, popularity("main-1", "a", "b"))
	save(canaryDir, popularity("canary-1", "b", "a"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	cfg := serve.Config{Logger: slog.New(slog.DiscardHandler), Canary: serve.CanaryConfig{Dir: canaryDir, Share: 1}}
	go func() {
		errc <- serveModel(ctx, ln, mainDir, cfg, serve.ReloadConfig{Interval: 10 * time.Millisecond, RetryDelay: time.Millisecond, Load: modelLoader("")})
	}()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("serve returned %v", err)
		}
	}()
	addr := ln.Addr().String()
	eventually(t, "the canary to answer", func() bool { return servedVersion(t, addr) == "canary-1" })
	save(canaryDir, popularity("canary-2", "b", "a"))
	eventually(t, "canary-2", func() bool { return servedVersion(t, addr) == "canary-2" })
}
