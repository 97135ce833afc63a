package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// mintToken asks `gateway token` for a token of sub and role, signed with
// the data folder's key. The token is never logged.
func mintToken(ctx context.Context, bin, data, sub, role string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "token", "--data", data, "--sub", sub, "--role", role, "--ttl", "1h")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("mint %s token for %s: %w (%s)", role, sub, err, strings.TrimSpace(errOut.String()))
	}
	tok := strings.TrimSpace(out.String())
	if strings.Count(tok, ".") != 2 {
		return "", fmt.Errorf("mint %s token for %s: output is not a JWT", role, sub)
	}
	return tok, nil
}

// mintAll mints one token per subject, a few at a time.
func mintAll(ctx context.Context, bin, data, role string, subs []string) ([]string, error) {
	toks := make([]string, len(subs))
	errs := make([]error, len(subs))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, sub := range subs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			toks[i], errs[i] = mintToken(ctx, bin, data, sub, role)
		})
	}
	wg.Wait()
	return toks, errors.Join(errs...)
}
