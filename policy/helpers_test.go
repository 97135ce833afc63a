package policy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// seededDir is a scratch policy folder holding the default policy.
func seededDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "policy")
	if _, err := Seed(dir); err != nil {
		tb.Fatalf("seed: %v", err)
	}
	return dir
}

// writeFile writes body to dir/name, creating parent folders.
func writeFile(tb testing.TB, dir, name, body string) {
	tb.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// newTestEngine is an engine over a fresh copy of the default policy.
func newTestEngine(tb testing.TB) (*Engine, string) {
	tb.Helper()
	dir := seededDir(tb)
	e, err := NewEngine(context.Background(), dir, nil)
	if err != nil {
		tb.Fatalf("new engine: %v", err)
	}
	return e, dir
}

// request is the Input of one authenticated request.
func request(role, sub, method string, path ...string) Input {
	return Input{
		Principal: Principal{Sub: sub, Role: role, ClientIP: "192.0.2.1"},
		Method:    method,
		Path:      path,
	}
}
