package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
	"github.com/reelguard/reelguard/recommender/serve"
)

// runMain runs Main and returns its exit code, stdout and stderr.
func runMain(tb testing.TB, stdin string, args ...string) (int, string, string) {
	tb.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func mustRun(tb testing.TB, stdin string, args ...string) string {
	tb.Helper()
	code, out, errOut := runMain(tb, stdin, args...)
	if code != 0 {
		tb.Fatalf("recommender %v: exit %d\nstderr: %s", args, code, errOut)
	}
	return out
}

var recommendLineRE = regexp.MustCompile(`^([0-9]+)\t([a-z0-9+]+(,[a-z0-9+]+)*)$`)

func TestGenTrainRecommend(t *testing.T) {
	dir := t.TempDir()
	logFile, modelDir := filepath.Join(dir, "synthetic", "movielog.log"), filepath.Join(dir, "model")
	mustRun(t, "", "gen", "--out", logFile, "--users", "60", "--movies", "40", "--events", "3000", "--seed", "5")
	out := mustRun(t, "", "train", "--algo", "popularity", "--data", logFile, "--format", "movielog", "--out", modelDir, "--version", "pop-test")
	if !strings.HasPrefix(out, "trained pop-test (popularity): 60 users, ") || strings.Count(out, "\n") != 1 {
		t.Errorf("train summary %q", out)
	}
	out = mustRun(t, "1\n\n2\n999999\n", "recommend", "--model", modelDir, "--k", "5", "--exclude-seen")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), out)
	}
	for i, user := range []string{"1", "2", "999999"} {
		m := recommendLineRE.FindStringSubmatch(lines[i])
		if m == nil || m[1] != user || strings.Count(m[2], ",") != 4 {
			t.Errorf("line %q: want %s<TAB>5 slugs", lines[i], user)
		}
	}
	// --exclude-seen holds against the log itself.
	seen := seenInLog(t, logFile, "1")
	if len(seen) == 0 {
		t.Fatal("user 1 has no activity in the sample; pick another seed")
	}
	for _, item := range strings.Split(strings.Split(lines[0], "\t")[1], ",") {
		if seen[item] {
			t.Errorf("user 1 was recommended %q, already seen", item)
		}
	}
}

func seenInLog(tb testing.TB, path, user string) map[string]bool {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		ev, err := events.ParseLine(line)
		if err != nil {
			tb.Fatalf("gen wrote a bad line %q: %v", line, err)
		}
		if ev.User == user && ev.Movie != "" {
			seen[ev.Movie] = true
		}
	}
	return seen
}

func TestGenDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	for _, f := range []string{a, b} {
		mustRun(t, "", "gen", "--out", f, "--events", "200", "--seed", "9")
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if len(da) == 0 || !bytes.Equal(da, db) {
		t.Fatal("same seed wrote different files")
	}
	if !strings.Contains(string(da), ",GET /create_account\n") || !strings.Contains(string(da), ".mpg\n") {
		t.Errorf("output does not look like course lines:\n%.300s", da)
	}
}

func TestTrainMovieLens(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "ratings.csv")
	csv := "userId,movieId,rating,timestamp\n1,10,4,1\n2,10,3,2\n2,20,5,3\n"
	if err := os.WriteFile(data, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "train", "--algo", "popularity", "--data", data, "--format", "movielens", "--out", filepath.Join(dir, "m"))
	out := mustRun(t, "1\n2\n", "recommend", "--model", filepath.Join(dir, "m"), "--k", "2")
	if out != "1\t10,20\n2\t10,20\n" {
		t.Fatalf("recommend = %q", out)
	}
	out = mustRun(t, "1\n2\n", "recommend", "--model", filepath.Join(dir, "m"), "--k", "2", "--exclude-seen")
	if out != "1\t20\n2\t\n" {
		t.Fatalf("recommend --exclude-seen = %q", out)
	}
}

func TestTrainMovielogBadLines(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, data string
		code       int
		stderr     string
	}{
		{"some bad", "2024-01-01T00:00:00,1,GET /data/m/a+b+1999/3.mpg\ngarbage\n2024-01-01T00:00:01,2,GET /rate/a+b+1999=4\n", 0, "skipped 1 bad lines of 3 (first: line 2:"},
		{"all bad", "garbage\nmore garbage\n", 1, "no valid lines: line 1:"},
		{"no interactions", "2024-01-01T00:00:00,1,GET /create_account\n", 1, "no interactions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(dir, tc.name+".log")
			if err := os.WriteFile(data, []byte(tc.data), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := runMain(t, "", "train", "--data", data, "--format", "movielog", "--out", filepath.Join(dir, "m-"+tc.name))
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.stderr)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stderr string
	}{
		{"no command", nil, "", 2, "usage: recommender"},
		{"unknown command", []string{"frobnicate"}, "", 2, `unknown command "frobnicate"`},
		{"gen without out", []string{"gen"}, "", 2, "--out is required"},
		{"train bad format", []string{"train", "--data", "x", "--out", "y", "--format", "csv"}, "", 2, "--format must be"},
		{"train missing data", []string{"train", "--out", "y"}, "", 2, "--data is required"},
		{"unknown flag", []string{"recommend", "--bogus"}, "", 2, "flag provided but not defined"},
		{"stray argument", []string{"recommend", "--model", dir, "extra"}, "", 2, `unexpected argument "extra"`},
		{"bad k", []string{"recommend", "--model", dir, "--k", "0"}, "", 2, "--k must be positive"},
		{"missing model", []string{"recommend", "--model", dir}, "1\n", 1, "load model"},
		{"serve missing model", []string{"serve", "--model", dir, "--listen", "127.0.0.1:0"}, "", 1, "load model"},
		{"help", []string{"gen", "-h"}, "", 0, "-seed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runMain(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.stderr)
			}
		})
	}
}

func TestRecommendRejectsBadUserID(t *testing.T) {
	dir := t.TempDir()
	if err := recommender.Save(dir, recommender.TrainPopularity([]recommender.Interaction{{User: "1", Item: "x"}}, "v"), recommender.SaveOptions{KeysDir: keysDir("")}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain(t, "1\nbob\n", "recommend", "--model", dir)
	if code != 1 || out != "1\tx\n" || !strings.Contains(errOut, "stdin line 2") {
		t.Fatalf("exit %d, out %q, stderr %q", code, out, errOut)
	}
}

func TestServeUntilCanceled(t *testing.T) {
	m := recommender.TrainPopularity([]recommender.Interaction{{User: "1", Item: "x"}, {User: "2", Item: "y"}, {User: "2", Item: "x"}}, "v9")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { errc <- serveUntilSignal(ctx, ln, serve.NewHandler(m, logger), logger) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/recommend/7")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "x,y\n" {
		t.Fatalf("GET = %d %q", resp.StatusCode, body)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("serve returned %v after cancel", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("server still answering after shutdown")
	}
}
