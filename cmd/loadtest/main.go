// Command loadtest drives a running Reelguard gateway on loopback with
// legitimate clients beside a flood from one IP and slow-client attacks
// (slowloris, slow body, slow read), then reports the legitimate success
// rate, latency percentiles and the statuses each traffic class received.
//
// It is bounded in time (-duration), in requests (-max-requests) and in
// connections, and refuses any target or source address off loopback.
//
//	loadtest -url https://127.0.0.1:8443 -data .reelguard -users 10 -rate 2 \
//	    -flood-factor 20 -slowloris 300 -slow-body 100 -slow-read 100 -duration 15s
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errTargetMissed is returned when -target is set and the legitimate
// success rate fell below it.
var errTargetMissed = errors.New("legitimate success rate below target")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, errTargetMissed):
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(3)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// run parses args, prepares tokens and clients, runs every traffic class
// side by side for the configured duration and prints the report.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	env, err := prepare(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loadtest: %d %s clients at %.1f req/s each, flood %.0f req/s from %s, slow conns %d+%d+%d from %s, %s\n",
		cfg.Users, cfg.Role, cfg.Rate, cfg.floodRate(), cfg.FloodSrc, cfg.Slowloris, cfg.SlowBody, cfg.SlowRead, cfg.SlowSrc, cfg.Duration)
	res := execute(ctx, cfg, env)
	writeReport(stdout, cfg, res)
	if cfg.Target > 0 && res.legit.successRate() < cfg.Target {
		return fmt.Errorf("%w: %.4f%% < %.4f%%", errTargetMissed, 100*res.legit.successRate(), 100*cfg.Target)
	}
	return nil
}
