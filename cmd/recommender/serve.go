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
	"syscall"
	"time"

	"github.com/oklog/run"

	"github.com/reelguard/reelguard/recommender"
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
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", *dir); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	m, err := recommender.Load(*dir)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("model loaded", "version", m.Version(), "kind", m.Meta().Kind, "items", m.Meta().Items)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return serveUntilSignal(context.Background(), ln, serve.NewHandler(m, logger), logger)
}

// serveUntilSignal serves on ln until ctx ends, SIGINT or SIGTERM arrives, or
// the server fails, then shuts down gracefully. Later actors (the verifying
// movielog consumer) join the same group.
func serveUntilSignal(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
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
