package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const minimalPolicy = `package reelguard.authz

default decision := {"allow": false, "reason": "default_deny"}
`

const minimalTest = `package reelguard.authz_test

import data.reelguard.authz

test_denies if not authz.decision.allow
`

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(tb testing.TB, dir string)
		wantErr  error  // nil: accepted
		wantText string // must appear in the error, naming the culprit
	}{
		{name: "default policy", edit: func(testing.TB, string) {}},
		{name: "nested module joins the policy", edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "extra/deep/blocklist.rego", "package reelguard.authz\n\ndeny contains \"blocked_ip\" if input.principal.client_ip == \"203.0.113.66\"\n")
		}},
		{name: "hidden folders and files are ignored", edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "..data/authz.rego", "package reelguard.authz\n\nthis is not rego\n")
			writeFile(tb, dir, ".#authz.rego", "not rego either")
		}},
		{name: "syntax error", wantErr: ErrCompile, wantText: "broken.rego:", edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "broken.rego", "package reelguard.authz\n\nallow if {\n")
		}},
		{name: "compile error", wantErr: ErrCompile, wantText: "undef.rego", edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "undef.rego", "package reelguard.authz\n\nallow if no_such_rule\n")
		}},
		{name: "rego v0 syntax", wantErr: ErrCompile, wantText: "old.rego", edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "old.rego", "package reelguard.authz\n\nallow { input.method == \"TRACE\" }\n")
		}},
		{name: "network builtin", wantErr: ErrCompile, wantText: "http.send", edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "leak.rego", "package reelguard.authz\n\nleak := http.send({\"method\": \"GET\", \"url\": \"http://192.0.2.1/\"})\n")
		}},
		{name: "failing rego test", wantErr: ErrTestsFailed, wantText: "test_user_reads_own_recommendations", edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "maintenance.rego", "package reelguard.authz\n\ndeny contains \"maintenance\" if input.method == \"GET\"\n")
		}},
		{name: "erroring rego test", wantErr: ErrTestsFailed, wantText: "test_conflict", edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "conflict_test.rego", "package reelguard.conflict\n\nx := 1\nx := 2 if true\n\ntest_conflict if x == 1\n")
		}},
		{name: "missing decision", wantErr: ErrNoDecision, edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "authz.rego", "package reelguard.authz\n\nallow if true\n")
		}},
		{name: "decision only in a test file", wantErr: ErrNoDecision, edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "authz.rego", "package reelguard.other\n\nx := 1\n")
			writeFile(tb, dir, "authz_test.rego", minimalPolicy+"\ntest_x if true\n")
		}},
		{name: "no tests", wantErr: ErrNoTests, edit: func(tb testing.TB, dir string) {
			removeFile(tb, dir, "authz_test.rego")
		}},
		{name: "allow not boolean", wantErr: ErrBadDecision, wantText: "allow is not a boolean", edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "authz.rego", "package reelguard.authz\n\ndecision := {\"allow\": \"yes\"}\n")
			writeFile(tb, dir, "authz_test.rego", "package reelguard.authz_test\n\ntest_ok if true\n")
		}},
		{name: "no modules", wantErr: ErrNoModules, edit: func(tb testing.TB, dir string) {
			removeFile(tb, dir, "authz.rego")
			removeFile(tb, dir, "authz_test.rego")
		}},
		{name: "minimal policy", edit: func(tb testing.TB, dir string) {
			writeFile(tb, dir, "authz.rego", minimalPolicy)
			writeFile(tb, dir, "authz_test.rego", minimalTest)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := seededDir(t)
			tt.edit(t, dir)
			err := Check(context.Background(), dir)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Check rejected a good policy: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Check error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Check error %q does not name %q", err, tt.wantText)
			}
		})
	}
}

func TestCheckMissingDir(t *testing.T) {
	err := Check(context.Background(), filepath.Join(t.TempDir(), "absent"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Check of a missing folder = %v, want not-exist error", err)
	}
}

func removeFile(tb testing.TB, dir, name string) {
	tb.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		tb.Fatal(err)
	}
}
