package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func TestTrainALS(t *testing.T) {
	dir := t.TempDir()
	logFile, modelDir := filepath.Join(dir, "movielog.log"), filepath.Join(dir, "model")
	mustRun(t, "", "gen", "--out", logFile, "--users", "60", "--movies", "40", "--events", "3000", "--seed", "5")
	out := mustRun(t, "", "train", "--data", logFile, "--format", "movielog", "--out", modelDir,
		"--factors", "8", "--iterations", "3", "--regularization", "0.1", "--alpha", "5", "--workers", "2", "--seed", "3")
	if !strings.HasPrefix(out, "trained als-") || !strings.Contains(out, " (als): 60 users, ") {
		t.Errorf("train summary %q", out)
	}
	m, err := recommender.Load(modelDir)
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
		{"bad algo", []string{"--algo", "bpr"}, "--algo must be als or popularity"},
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
