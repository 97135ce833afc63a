package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/policy"
)

func TestTokenCommand(t *testing.T) {
	data := t.TempDir()
	env := envOf(map[string]string{"REELGUARD_DATA": data})
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"token", "--sub", "42", "--role", "user"}, &out, &errOut, env); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	tok := out.String()
	if strings.Count(tok, "\n") != 1 || strings.Count(tok, ".") != 2 {
		t.Errorf("stdout %q: want one JWT alone on one line", tok)
	}
	if !strings.Contains(errOut.String(), "created") {
		t.Errorf("stderr %q does not say keys were created", errOut.String())
	}
	info, err := os.Stat(filepath.Join(data, "keys", "jwt.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("jwt.key: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	errOut.Reset()
	out.Reset()
	if code := Main(context.Background(), []string{"token", "--sub", "1", "--role", "admin"}, &out, &errOut, env); code != 0 || errOut.Len() != 0 {
		t.Errorf("second token: exit %d, stderr %q (keys exist: nothing to say)", code, errOut.String())
	}
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{},
		{"nope"},
		{"token", "--sub", "42"},
		{"token", "--sub", "42", "--role", "user", "--ttl", "-1h"},
		{"serve", "--bogus"},
		{"keys", "extra"},
		{"policy", "diff"},
	}
	for _, args := range tests {
		var out, errOut bytes.Buffer
		env := envOf(map[string]string{"REELGUARD_DATA": t.TempDir()})
		if code := Main(context.Background(), args, &out, &errOut, env); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errOut.String())
		}
	}
}

func TestPolicyCheckCommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.rego"), []byte("package reelguard.authz\nallow if {"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"policy", "check", dir}, &out, &errOut, envOf(nil)); code != 1 {
		t.Errorf("policy check of a broken module: exit %d, want 1", code)
	}
}

func TestPolicyDiffCommandReplaysRecordedDecisions(t *testing.T) {
	ctx := context.Background()
	data, live, edit := t.TempDir(), t.TempDir(), t.TempDir()
	for _, dir := range []string{live, edit} {
		if _, err := policy.Seed(dir); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(data, "state", "gw-1", decisionLogFile)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		t.Fatal(err)
	}
	dl, err := policy.NewDecisionLog(policy.DecisionLogConfig{Path: logPath})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.NewEngine(ctx, live, nil, policy.WithDecisionLog(dl))
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"7", "8"} {
		in := policy.Input{Principal: policy.Principal{Sub: sub, Role: "user"}, Method: "GET", Path: []string{"recommend", sub}, TargetUser: sub}
		if d, err := engine.Decide(ctx, in); err != nil || !d.Allow {
			t.Fatalf("decide %s: %+v %v", sub, d, err)
		}
	}
	if err := dl.Close(); err != nil {
		t.Fatal(err)
	}
	veto := "package reelguard.authz\n\ndeny contains \"subject_suspended\" if input.principal.sub == \"7\"\n"
	if err := os.WriteFile(filepath.Join(edit, "suspend.rego"), []byte(veto), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := Main(ctx, []string{"policy", "diff", edit, "--data", data}, &out, &errOut, envOf(nil)); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "2 recorded decisions replayed, 1 would change") ||
		!strings.Contains(lines[1], `"subject_suspended"`) {
		t.Errorf("policy diff printed %q", out.String())
	}
}
