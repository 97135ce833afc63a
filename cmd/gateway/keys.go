package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/certs"
	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/policy"
)

// dataDir is the data folder named by --data, else REELGUARD_DATA, else the default.
func dataDir(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := getenv("REELGUARD_DATA"); v != "" {
		return v
	}
	return defaultConfig().Data
}

// ensureKeys makes whichever of the data folder's keys are missing and says
// so on stderr: the JWT key pair, the event-signing keys and the dev CA.
func ensureKeys(data string, stderr io.Writer) error {
	steps := []struct {
		what   string
		dir    string
		ensure func(string) (bool, error)
	}{
		{"JWT signing key", filepath.Join(data, "keys"), auth.EnsureKeys},
		{"event-signing key", filepath.Join(data, "keys"), events.EnsureKeys},
		{"dev CA", filepath.Join(data, "ca"), certs.EnsureCA},
	}
	for _, s := range steps {
		created, err := s.ensure(s.dir)
		if err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		if created {
			fmt.Fprintf(stderr, "gateway: created %s in %s\n", s.what, s.dir)
		}
	}
	return nil
}

func keys(args []string, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("keys", stderr)
	data := fs.String("data", "", "data folder (default $REELGUARD_DATA or ./.reelguard)")
	if err := parse(fs, args); err != nil {
		return err
	}
	return ensureKeys(dataDir(*data, getenv), stderr)
}

func token(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("token", stderr)
	sub := fs.String("sub", "", "subject (user id) of the token")
	role := fs.String("role", "", "role: user, service, ingest or admin")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token")
	data := fs.String("data", "", "data folder (default $REELGUARD_DATA or ./.reelguard)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *sub == "" || *role == "" {
		return fmt.Errorf("%w: --sub and --role are required", errUsage)
	}
	if *ttl <= 0 {
		return fmt.Errorf("%w: --ttl must be positive", errUsage)
	}
	dir := dataDir(*data, getenv)
	if err := ensureKeys(dir, stderr); err != nil {
		return err
	}
	signer, err := auth.LoadSigner(filepath.Join(dir, "keys"))
	if err != nil {
		return err
	}
	tok, err := signer.Mint(*sub, *role, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

func policyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || args[0] != "check" {
		return fmt.Errorf("%w: gateway policy check DIR", errUsage)
	}
	if err := policy.Check(ctx, args[1]); err != nil {
		return fmt.Errorf("policy %s rejected: %w", args[1], err)
	}
	_, err := fmt.Fprintf(stdout, "policy %s: ok\n", args[1])
	return err
}
