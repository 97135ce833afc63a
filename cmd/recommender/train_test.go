package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// TestMain points REELGUARD_DATA at a temporary folder, so commands that
// create the data folder's keys (train, Save without options) never write
// into the source tree.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reelguard-recommender-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("REELGUARD_DATA", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestTrainALS(t *testing.T) {
	dir := t.TempDir()
	logFile, modelDir := filepath.Join(dir, "movielog.log"), filepath.Join(dir, "model")
	mustRun(t, "", "gen", "--out", logFile, "--users", "60", "--movies", "40", "--events", "3000", "--seed", "5")
	out := mustRun(t, "", "train", "--data", logFile, "--format", "movielog", "--out", modelDir, "--algo", "als",
		"--factors", "8", "--iterations", "3", "--regularization", "0.1", "--alpha", "5", "--workers", "2", "--seed", "3")
	if !strings.HasPrefix(out, "trained als-") || !strings.Contains(out, " (als): 60 users, ") {
		t.Errorf("train summary %q", out)
	}
	m, err := modelLoader("")(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	p := m.Meta().Params
	if m.Meta().Kind != recommender.KindALS || p["factors"] != "8" || p["iterations"] != "3" || p["alpha"] != "5" || p["regularization"] != "0.1" || p["seed"] != "3" {
		t.Errorf("meta = %+v", m.Meta())
	}
	out = mustRun(t, "1\n999999\n", "recommend", "--model", modelDir, "--k", "5", "--exclude-seen")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || !recommendLineRE.MatchString(lines[0]) || !recommendLineRE.MatchString(lines[1]) {
		t.Fatalf("recommend = %q", out)
	}
	seen := seenInLog(t, logFile, "1")
	for _, item := range strings.Split(strings.Split(lines[0], "\t")[1], ",") {
		if seen[item] {
			t.Errorf("user 1 was recommended %q, already seen", item)
		}
	}
}

func TestTrainFlagErrors(t *testing.T) {
	base := []string{"train", "--data", "x", "--out", "y"}
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"bad algo", []string{"--algo", "bpr"}, "--algo must be auto or one of popularity, als, ease, itemknn"},
		{"zero lambda", []string{"--lambda", "0"}, "--lambda must be positive"},
		{"zero neighbors", []string{"--neighbors", "0"}, "--neighbors must be positive"},
		{"zero factors", []string{"--factors", "0"}, "--factors must be positive"},
		{"negative alpha", []string{"--alpha", "-1"}, "--alpha must be positive"},
		{"not a number", []string{"--regularization", "lots"}, "invalid value"},
		{"huge factors", []string{"--factors", "100000"}, "als factors 100000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runMain(t, "", append(base, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.stderr)
			}
		})
	}
}

// trainVersion trains a popularity model into root as version with keys.
func trainVersion(tb testing.TB, data, root, keys, version string) (stdout, stderr string) {
	tb.Helper()
	code, out, errOut := runMain(tb, "", "train", "--algo", "popularity", "--data", data, "--format", "movielens",
		"--out", root, "--keys", keys, "--version", version)
	if code != 0 {
		tb.Fatalf("train %s: exit %d: %s", version, code, errOut)
	}
	return out, errOut
}

func currentOf(tb testing.TB, root string) string {
	tb.Helper()
	v, err := recommender.CurrentVersion(root)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func TestTrainVersionsAndRollback(t *testing.T) {
	dir := t.TempDir()
	data, root, keys := filepath.Join(dir, "ratings.csv"), filepath.Join(dir, "model"), filepath.Join(dir, "keys")
	if err := os.WriteFile(data, []byte("userId,movieId,rating,timestamp\n1,10,4,1\n2,10,3,2\n2,20,5,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut := trainVersion(t, data, root, keys, "v1")
	if !strings.Contains(errOut, "created model signing key") || !strings.HasSuffix(out, "(parent none)\n") {
		t.Errorf("first train: stdout %q, stderr %q", out, errOut)
	}
	if info, err := os.Stat(filepath.Join(keys, recommender.SigningKeyFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("signing key: %v, %v", info, err)
	}
	out, errOut = trainVersion(t, data, root, keys, "v2")
	if strings.Contains(errOut, "created model signing key") || !strings.HasSuffix(out, "(parent v1)\n") || currentOf(t, root) != "v2" {
		t.Errorf("second train: stdout %q, stderr %q, current %s", out, errOut, currentOf(t, root))
	}
	pub, err := recommender.LoadVerifyKey(keys)
	if err != nil {
		t.Fatal(err)
	}
	m, err := recommender.LoadVerified(root, pub)
	if err != nil || m.Version() != "v2" || m.Meta().Parent != "v1" || len(m.Meta().DataSHA256) != 64 {
		t.Fatalf("Load = %+v, %v", m, err)
	}
	out = mustRun(t, "", "rollback", "--model", root, "--keys", keys)
	if !strings.HasPrefix(out, "rolled back v2 -> v1\n") || !strings.Contains(out, "* v1\tpopularity\tparent -") || currentOf(t, root) != "v1" {
		t.Fatalf("rollback printed %q; current %s", out, currentOf(t, root))
	}
	code, _, errOut := runMain(t, "", "rollback", "--model", root, "--keys", keys)
	if code != 1 || !strings.Contains(errOut, "no parent version") {
		t.Fatalf("rollback past the first version: exit %d, %q", code, errOut)
	}
}

func TestRollbackRefusesTamperedParent(t *testing.T) {
	dir := t.TempDir()
	data, root, keys := filepath.Join(dir, "u.data"), filepath.Join(dir, "model"), filepath.Join(dir, "keys")
	if err := os.WriteFile(data, []byte("1\t10\t4\t1\n2\t10\t3\t2\n2\t20\t5\t3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	trainVersion(t, data, root, keys, "v1")
	trainVersion(t, data, root, keys, "v2")
	seen := filepath.Join(root, recommender.VersionsDir, "v1", recommender.SeenFile)
	b, err := os.ReadFile(seen)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(seen, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runMain(t, "", "rollback", "--model", root, "--keys", keys)
	if code != 1 || !strings.Contains(errOut, "bad model artifact") || currentOf(t, root) != "v2" {
		t.Fatalf("exit %d, stderr %q, current %s; want 1, bad model artifact, v2", code, errOut, currentOf(t, root))
	}
	// recommend --model verifies with the data folder's key by default
	// (REELGUARD_DATA, set by TestMain): a model signed by another key is refused.
	if _, err := recommender.EnsureSigningKey(keysDir("")); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runMain(t, "1\n", "recommend", "--model", root)
	if code != 1 || !strings.Contains(errOut, "bad model signature") {
		t.Fatalf("recommend under another data folder's key: exit %d, %q", code, errOut)
	}
}
