package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes text to name in dir and returns its path.
func writeFile(tb testing.TB, dir, name, text string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestTrainUsersAndMinSupport: women writers (users 1-3) like 10 and 11, men
// engineers (4-7) like 20 and 21, and only user 7 touched 99. Users 8 and 9
// are in the user file without ratings: each gets their own group's
// favourites first; anyone else the global list; nobody 99.
func TestTrainUsersAndMinSupport(t *testing.T) {
	dir := t.TempDir()
	var ratings strings.Builder
	for u, items := range map[string][]string{
		"1": {"10", "11"}, "2": {"10", "11"}, "3": {"10", "11"},
		"4": {"20", "21"}, "5": {"20", "21"}, "6": {"20", "21"}, "7": {"20", "21", "99"},
	} {
		for _, it := range items {
			ratings.WriteString(u + "\t" + it + "\t5\t1\n")
		}
	}
	data := writeFile(t, dir, "u.data", ratings.String())
	var users strings.Builder
	for _, u := range []string{"1", "2", "3", "8"} {
		users.WriteString(u + "|30|F|writer|00000\n")
	}
	for _, u := range []string{"4", "5", "6", "7", "9"} {
		users.WriteString(u + "|30|M|engineer|00000\n")
	}
	userFile := writeFile(t, dir, "u.user", users.String()+"bad line\n")
	for _, algo := range []string{"popularity", "als", "itemknn"} {
		t.Run(algo, func(t *testing.T) {
			model := filepath.Join(dir, algo)
			code, _, errOut := runMain(t, "", "train", "--algo", algo, "--data", data, "--format", "movielens", "--out", model,
				"--users", userFile, "--min-support", "2", "--factors", "4")
			if code != 0 || !strings.Contains(errOut, "u.user: skipped 1 bad lines") {
				t.Fatalf("train: exit %d, stderr %q; want 0 and the bad line reported", code, errOut)
			}
			out := mustRun(t, "8\n9\n100\n7\n", "recommend", "--model", model, "--k", "10", "--exclude-seen")
			want := map[string]string{"8": "10,11,20,21", "9": "20,21,10,11", "100": "20,21,10,11"}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				user, items, _ := strings.Cut(line, "\t")
				if w, ok := want[user]; ok && items != w {
					t.Errorf("user %s got %s, want %s", user, items, w)
				}
				if strings.Contains(","+items+",", ",99,") {
					t.Errorf("user %s was recommended 99, which only one user touched", user)
				}
			}
		})
	}
}

func TestCandidateFlagErrors(t *testing.T) {
	base := []string{"train", "--data", "x", "--out", "y"}
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"zero min support", []string{"--min-support", "0"}, "--min-support must be positive"},
		{"missing user file", []string{"--users", filepath.Join(t.TempDir(), "none")}, "invalid value"},
		{"no valid user line", []string{"--users", writeFile(t, t.TempDir(), "u.user", "junk\n")}, "invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runMain(t, "", append(base, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.stderr)
			}
		})
	}
}
