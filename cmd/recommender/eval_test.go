package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writeUData writes a MovieLens u.data file: 40 users, each rating 12 of 30
// movies with a popularity skew (user u rates movies u%5, u%5+1, ...).
func writeUData(tb testing.TB) string {
	tb.Helper()
	var b strings.Builder
	for u := 1; u <= 40; u++ {
		for i := range 12 {
			fmt.Fprintf(&b, "%d\t%d\t%d\t%d\n", u, 1+(u%5+i*(1+u%3))%30, 1+(u+i)%5, 881250949+u*100+i)
		}
	}
	path := filepath.Join(tb.TempDir(), "u.data")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// evalRows parses eval's table into rows keyed by algorithm, checking the
// header and that every metric column is a number in [0, 1].
func evalRows(tb testing.TB, out string, k int) map[string][]string {
	tb.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	wantHeader := []string{"algo", fmt.Sprintf("MAP@%d", k), fmt.Sprintf("nDCG@%d", k), fmt.Sprintf("P@%d", k),
		fmt.Sprintf("R@%d", k), "coverage", "users", "train", "recommend"}
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != strings.Join(wantHeader, " ") {
		tb.Fatalf("header %q, want %q", lines[0], strings.Join(wantHeader, " "))
	}
	rows := make(map[string][]string)
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != len(wantHeader) {
			tb.Fatalf("row %q: %d columns, want %d", line, len(f), len(wantHeader))
		}
		for _, col := range f[1:6] {
			v, err := strconv.ParseFloat(col, 64)
			if err != nil || v < 0 || v > 1 {
				tb.Errorf("row %q: metric %q is not a number in [0, 1]", line, col)
			}
		}
		if n, err := strconv.Atoi(f[6]); err != nil || n <= 0 {
			tb.Errorf("row %q: users %q is not a positive count", line, f[6])
		}
		rows[f[0]] = f
	}
	return rows
}

func TestEvalMovieLens(t *testing.T) {
	path := writeUData(t)
	out := mustRun(t, "", "eval", "--data", path, "--format", "movielens", "--algo", "popularity", "--k", "5", "--seed", "2")
	rows := evalRows(t, out, 5)
	if len(rows) != 1 || rows["popularity"] == nil {
		t.Fatalf("want one popularity row:\n%s", out)
	}
	if ndcg, _ := strconv.ParseFloat(rows["popularity"][2], 64); ndcg == 0 {
		t.Errorf("popularity nDCG@5 is 0 on skewed data:\n%s", out)
	}
	if users := rows["popularity"][6]; users != "40" {
		t.Errorf("evaluated %s users, want 40", users)
	}
	// Same seed, same scores (the time columns aside).
	again := evalRows(t, mustRun(t, "", "eval", "--data", path, "--format", "movielens", "--algo", "popularity", "--k", "5", "--seed", "2"), 5)
	if strings.Join(again["popularity"][:7], " ") != strings.Join(rows["popularity"][:7], " ") {
		t.Errorf("same seed, different scores: %v vs %v", again["popularity"], rows["popularity"])
	}
}

func TestEvalMovielogAllAlgos(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "movielog.log")
	mustRun(t, "", "gen", "--out", logFile, "--users", "60", "--movies", "40", "--events", "3000", "--seed", "5")
	out := mustRun(t, "", "eval", "--data", logFile, "--format", "movielog")
	rows := evalRows(t, out, 10)
	for _, algo := range algoOrder {
		if rows[algo] == nil {
			t.Errorf("no %s row:\n%s", algo, out)
		}
	}
}

func TestEvalUsage(t *testing.T) {
	path := writeUData(t)
	for _, args := range [][]string{
		{"eval"},
		{"eval", "--data", path, "--format", "csv"},
		{"eval", "--data", path, "--algo", "bpr"},
		{"eval", "--data", path, "--algo", "popularity,popularity"},
		{"eval", "--data", path, "--algo", ","},
		{"eval", "--data", path, "--k", "0"},
		{"eval", "--data", path, "--test-fraction", "1"},
		{"eval", "--data", path, "extra"},
	} {
		if code, _, errOut := runMain(t, "", args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, errOut)
		}
	}
	if code, _, _ := runMain(t, "", "eval", "--data", filepath.Join(t.TempDir(), "missing")); code != exitFail {
		t.Errorf("missing file: exit %d, want %d", code, exitFail)
	}
}
