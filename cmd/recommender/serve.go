package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/oklog/run"

	"github.com/reelguard/reelguard/recommender/serve"
)

// defaultListen is the recommender's address when neither --listen nor
// REELGUARD_RECOMMENDER_LISTEN says otherwise; the gateway's upstream too.
const defaultListen = "127.0.0.1:8082"

const shutdownGrace = 10 * time.Second

func runServe(args []string, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	dir := fs.String("model", "", "model directory (required)")
	listen := fs.String("listen", envOr("REELGUARD_RECOMMENDER_LISTEN", defaultListen), "listen address (env REELGUARD_RECOMMENDER_LISTEN)")
	cacheSize := fs.Int("cache-size", serve.DefaultCacheSize, "answers cached per model; 0 turns the cache off")
	poll := fs.Duration("poll", time.Second, "how often to look for a new model in --model; 0 turns polling off (SIGHUP still reloads)")
	keys := fs.String("keys", "", "keys directory holding model.pub, which verifies every model (default $REELGUARD_DATA/keys)")
	feedback := addFeedbackFlags(fs) // feedback loop (issue 5): see feedback.go
	canary := addCanaryFlags(fs)     // canary model (issue 9): see canary.go
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := feedback.check(); err != nil {
		return err
	}
	if err := required(fs, "model", *dir); err != nil {
		return err
	}
	if *cacheSize < 0 || *poll < 0 {
		return fmt.Errorf("%w: serve: --cache-size and --poll must not be negative", errUsage)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := listenService(*listen, *keys, logger) // plain, or mTLS (issue 8): see tls.go
	if err != nil {
		return err
	}
	defer ln.Close()
	extra, err := feedback.actors(*dir, *keys, *listen, logger) // feedback loop (issue 5)
	if err != nil {
		return err
	}
	return serveModel(context.Background(), ln, *dir, serve.Config{CacheSize: cacheFlag(*cacheSize), Logger: logger,
		Canary: canary.config(), AccessLog: canary.accessLog},
		serve.ReloadConfig{Interval: pollFlag(*poll), Load: modelLoader(*keys)}, extra...)
}

// serveModel loads the model in dir and serves it on ln, swapping in newer
// models from dir (polled, and on SIGHUP), until ctx ends or a signal stops
// it. extra actors (the movielog consumer and feedback loop) join the group.
func serveModel(ctx context.Context, ln net.Listener, dir string, cfg serve.Config, reload serve.ReloadConfig, extra ...actor) error {
	m, err := reload.Load(dir)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	cfg.Logger.Info("model loaded", "version", m.Version(), "kind", m.Meta().Kind, "items", m.Meta().Items)
	h := serve.New(m, cfg)
	return serveUntilSignal(ctx, ln, h, cfg.Logger, append([]actor{reloadActor(serve.NewReloader(h, dir, reload))}, extra...)...)
}

// cacheFlag maps --cache-size (0 = off) to serve.Config (0 = default).
func cacheFlag(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// pollFlag maps --poll (0 = off) to serve.ReloadConfig (0 = default).
func pollFlag(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// actor is one member of the serving run group.
type actor struct {
	execute   func() error
	interrupt func(error)
}

// reloadActor runs r until the group stops, reloading on SIGHUP too.
func reloadActor(r *serve.Reloader) actor {
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	return actor{
		execute: func() error {
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			if err := r.Run(ctx, hup); !errors.Is(err, context.Canceled) {
				return fmt.Errorf("reload: %w", err)
			}
			return nil
		},
		interrupt: func(error) { cancel() },
	}
}

// serveUntilSignal serves on ln until ctx ends, SIGINT or SIGTERM arrives, or
// the server or another actor fails, then shuts down gracefully. Later actors
// (the verifying movielog consumer) join the same group.
func serveUntilSignal(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, actors ...actor) error {
	srv := newServer(h, logger)
	var g run.Group
	g.Add(run.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))
	g.Add(func() error {
		logger.Info("recommender listening on " + ln.Addr().String())
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	}, func(error) {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			logger.Warn("shutdown", "err", err)
		}
	})
	for _, a := range actors {
		g.Add(a.execute, a.interrupt)
	}
	err := g.Run()
	if errors.Is(err, run.ErrSignal) || errors.Is(err, context.Canceled) {
		logger.Info("recommender stopped", "reason", err.Error())
		return nil
	}
	return err
}

func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
