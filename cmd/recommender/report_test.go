package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// TestReportOnGeneratedData runs gen, train and report end to end, in HTML
// and in JSON.
func TestReportOnGeneratedData(t *testing.T) {
	dir := t.TempDir()
	data, model := filepath.Join(dir, "ml"), filepath.Join(dir, "model")
	mustRun(t, "", "gen", "--format", "movielens", "--out", data, "--users", "150", "--movies", "120", "--events", "5000", "--seed", "4")
	mustRun(t, "", "train", "--algo", "als", "--factors", "8", "--iterations", "3", "--data", filepath.Join(data, "u.data"),
		"--format", "movielens", "--out", model, "--version", "als-r1")
	args := []string{"report", "--data", filepath.Join(data, "u.data"), "--format", "movielens", "--users", filepath.Join(data, "u.user"),
		"--items", filepath.Join(data, "u.item"), "--model", model, "--resamples", "100", "--min-group-users", "5"}
	// One retrain the feedback loop refused, as it records them.
	decision := `{"time":"2026-01-02T03:04:05Z","current":"als-r1","candidate":"als-feedback-1","current_ndcg":0.3,` +
		`"candidate_ndcg":0.31,"held_out_users":40,"promoted":false,"reason":"candidate refused at K=10: gender_gap 0.01 -> 0.2",` +
		`"refused":["gender_gap"]}` + "\n"
	if err := os.MkdirAll(filepath.Join(model, recommender.FeedbackDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(model, recommender.FeedbackDir, recommender.FeedbackDecisionsFile), []byte(decision), 0o644); err != nil {
		t.Fatal(err)
	}
	htmlPath := filepath.Join(dir, "report.html")
	mustRun(t, "", append(args, "--out", htmlPath)...)
	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="demographics"`, `id="genres"`, `id="quality"`, `id="diversity"`, `id="curves"`,
		`id="lineage"`, `id="retrains"`, "<svg", "als-r1 (current)", "candidate refused at K=10: gender_gap"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %s", want)
		}
	}
	for _, banned := range []string{"<script", "http://", "https://"} {
		if strings.Contains(string(page), banned) {
			t.Errorf("report.html holds %q: it must be self-contained", banned)
		}
	}
	var r recommender.Report
	if err := json.Unmarshal([]byte(mustRun(t, "", append(args, "--json")...)), &r); err != nil {
		t.Fatalf("--json: %v", err)
	}
	d := r.Diversity
	switch {
	case r.Model.Version != "als-r1" || r.Data.Users != 150 || r.Demographics == nil || len(r.Genres) == 0:
		t.Errorf("report header %+v %+v", r.Model, r.Data)
	case r.Data.ItemsWithMetadata != r.Data.Items:
		t.Errorf("%d of %d items matched the item file, want all", r.Data.ItemsWithMetadata, r.Data.Items)
	case r.Quality == nil || r.Quality.NDCG.Mean <= 0 || r.Quality.NDCG.Mean > 1 || len(r.Quality.ByGender) < 2:
		t.Errorf("quality %+v", r.Quality)
	case len(r.Curve) != 3:
		t.Errorf("training curve %+v, want 3 iterations", r.Curve)
	case d.Coverage <= 0 || d.Coverage > 1 || d.Gini < 0 || d.Gini > 1 || d.Calibration == nil || d.Personalization <= 0:
		t.Errorf("diversity %+v", d)
	case len(r.Retrains) != 1 || r.Retrains[0].Refused[0] != "gender_gap":
		t.Errorf("retrains %+v, want the refused one", r.Retrains)
	case len(r.Lineage) != 1 || !r.Lineage[0].Current:
		t.Errorf("lineage %+v, want the one current version", r.Lineage)
	}
}

func TestReportUsage(t *testing.T) {
	for _, args := range [][]string{
		{"report", "--model", "m"},
		{"report", "--data", "d"},
		{"report", "--data", "d", "--model", "m", "--format", "csv"},
		{"report", "--data", "d", "--model", "m", "--k", "0"},
	} {
		if code, _, _ := runMain(t, "", args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// serve refuses negative fairness thresholds before it starts anything.
func TestServeRefusesNegativeGateFlags(t *testing.T) {
	for _, flag := range []string{"--max-group-gap-increase", "--max-coverage-drop", "--max-calibration-increase"} {
		code, _, stderr := runMain(t, "", "serve", "--model", t.TempDir(), "--brokers", "", flag, "-0.1")
		if code != exitUsage || !strings.Contains(stderr, "must not be negative") {
			t.Errorf("%s -0.1: exit %d, stderr %q; want a usage error", flag, code, stderr)
		}
	}
}
