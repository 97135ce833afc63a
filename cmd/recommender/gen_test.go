package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// TestGenMovieLensTrain writes a MovieLens folder, reads its metadata back
// and trains on its u.data.
func TestGenMovieLensTrain(t *testing.T) {
	dir := t.TempDir()
	ml := filepath.Join(dir, "ml")
	mustRun(t, "", "gen", "--format", "movielens", "--out", ml, "--users", "50", "--movies", "300", "--events", "1500", "--seed", "2")
	users, bad, err := recommender.ReadUsers(openFile(t, filepath.Join(ml, "u.user")))
	if err != nil || bad.Count != 0 || len(users) != 50 {
		t.Fatalf("u.user: %d users, bad %v, err %v", len(users), bad, err)
	}
	items, bad, err := recommender.ReadItems(openFile(t, filepath.Join(ml, "u.item")))
	if err != nil || bad.Count != 0 || len(items) != 300 || len(items["1"].Genres) == 0 {
		t.Fatalf("u.item: %d items, bad %v, err %v", len(items), bad, err)
	}
	out := mustRun(t, "", "train", "--data", filepath.Join(ml, "u.data"), "--format", "movielens",
		"--out", filepath.Join(dir, "model"), "--factors", "8", "--iterations", "3")
	if !strings.Contains(out, "1500 interactions") {
		t.Errorf("train summary %q", out)
	}
}

func TestGenMovielogStdout(t *testing.T) {
	out := mustRun(t, "", "gen", "--out", "-", "--users", "5", "--movies", "9", "--events", "40", "--seed", "3")
	log, err := readMovielog(strings.NewReader(out))
	if err != nil || log.Bad.Count != 0 || len(log.Accounts) != 5 || log.Total != 45 {
		t.Fatalf("err %v, bad %v, %d accounts, %d lines", err, log.Bad, len(log.Accounts), log.Total)
	}
	if again := mustRun(t, "", "gen", "--out", "-", "--users", "5", "--movies", "9", "--events", "40", "--seed", "3"); again != out {
		t.Error("same seed wrote different data")
	}
}

func TestGenFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"gen", "--out", "x", "--format", "csv"},
		{"gen", "--out", "x", "--size", "huge"},
		{"gen", "--out", "-", "--format", "movielens"},
		{"gen", "--out", "x", "--users", "0"},
	} {
		if code, _, _ := runMain(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func openFile(tb testing.TB, path string) *os.File {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}
