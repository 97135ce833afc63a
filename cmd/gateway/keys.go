package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
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
// so on stderr: the JWT key pair, the event-signing keys, the dev CA and the
// internal mTLS CA.
func ensureKeys(data string, stderr io.Writer) error {
	steps := []struct {
		what   string
		dir    string
		ensure func(string) (bool, error)
	}{
		{"JWT signing key", filepath.Join(data, "keys"), auth.EnsureKeys},
		{"event-signing key", filepath.Join(data, "keys"), events.EnsureKeys},
		{"dev CA", filepath.Join(data, "ca"), certs.EnsureCA},
		{"internal mTLS CA", internalCADir(data), certs.EnsureInternalCA},
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

// policyCmd runs the edit gate on a folder: `check` says whether it passes,
// `diff` also lists the recorded decisions it would change. Both replay the
// data folder's decision logs (every instance's).
func policyCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) < 2 || (args[0] != "check" && args[0] != "diff") {
		return fmt.Errorf("%w: gateway policy check|diff DIR [--data DIR]", errUsage)
	}
	verb, dir := args[0], args[1]
	fs := newFlagSet("policy "+verb, stderr)
	data := fs.String("data", "", "data folder whose decision logs are replayed (default $REELGUARD_DATA or ./.reelguard)")
	if err := parse(fs, args[2:]); err != nil {
		return err
	}
	records, err := recordedDecisions(dataDir(*data, getenv))
	if err != nil {
		return err
	}
	rep, err := policy.Diff(ctx, dir, records)
	if err != nil {
		return fmt.Errorf("policy %s rejected: %w", dir, err)
	}
	fmt.Fprintf(stdout, "policy %s: ok (revision %s; %d recorded decisions replayed, %d would change)\n",
		dir, rep.Revision, rep.Replayed, len(rep.Changed))
	if verb == "check" {
		return nil
	}
	enc := json.NewEncoder(stdout)
	for _, ch := range rep.Changed {
		if err := enc.Encode(ch); err != nil {
			return err
		}
	}
	return nil
}

// replayedDecisions is how many recorded decisions the gate replays.
const replayedDecisions = 1000

// recordedDecisions reads the newest decisions of every instance's log.
func recordedDecisions(data string) ([]policy.DecisionRecord, error) {
	logs, err := filepath.Glob(filepath.Join(data, "state", "*", decisionLogFile))
	if err != nil {
		return nil, err
	}
	var all []policy.DecisionRecord
	for _, path := range logs {
		recs, err := policy.ReadDecisionLog(path, replayedDecisions)
		if err != nil {
			return nil, fmt.Errorf("decision log %s: %w", path, err)
		}
		all = append(all, recs...)
	}
	slices.SortFunc(all, func(a, b policy.DecisionRecord) int { return a.Timestamp.Compare(b.Timestamp) })
	return all[max(0, len(all)-replayedDecisions):], nil
}
