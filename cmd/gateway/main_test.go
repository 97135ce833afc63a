package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
