package recommender_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// popModel is a popularity model of version ranking items in order.
func popModel(version string, items ...string) *recommender.Model {
	var in []recommender.Interaction
	for i, it := range items {
		for u := range len(items) - i {
			in = append(in, recommender.Interaction{User: string(rune('1' + u)), Item: it, Weight: 1})
		}
	}
	return recommender.TrainPopularity(in, version)
}

// promoteScene is a root with v1 current and v2 (v1's child) published
// but rolled back, and a canary root whose current is c1.
func promoteScene(tb testing.TB) (root, canaryRoot string) {
	tb.Helper()
	dir := tb.TempDir()
	root, canaryRoot = filepath.Join(dir, "model"), filepath.Join(dir, "canary")
	publish(tb, root, popModel("v1", "a", "b"))
	publish(tb, root, popModel("v2", "b", "a"))
	_, pub := testKey(tb)
	if _, _, err := recommender.Rollback(root, pub); err != nil {
		tb.Fatal(err)
	}
	publish(tb, canaryRoot, popModel("c1", "c", "a", "b"))
	return root, canaryRoot
}

func promotions(tb testing.TB, root string) []recommender.Promotion {
	tb.Helper()
	log, err := recommender.ReadPromotions(root)
	if err != nil {
		tb.Fatal(err)
	}
	return log
}

func TestOpenCandidate(t *testing.T) {
	_, pub := testKey(t)
	tests := []struct {
		name      string
		candidate func(root, canary string) string
		version   string
		foreign   bool
		err       error
	}{
		{"version of the root", func(_, _ string) string { return "v2" }, "v2", false, nil},
		{"model root elsewhere", func(_, c string) string { return c }, "c1", true, nil},
		{"version folder elsewhere", func(_, c string) string { return filepath.Join(c, "versions", "c1") }, "c1", true, nil},
		{"the root's own version folder", func(r, _ string) string { return filepath.Join(r, "versions", "v2") }, "v2", false, nil},
		{"unknown name", func(_, _ string) string { return "v9" }, "", false, recommender.ErrUnknownVersion},
		{"tampered version", func(r, _ string) string {
			mustWrite(t, filepath.Join(r, "versions", "v2", recommender.ArtifactFile), "{}")
			return "v2"
		}, "", false, recommender.ErrBadArtifact},
		{"another model of a version name the root has", func(_, c string) string {
			publish(t, c, popModel("v2", "c"))
			return c
		}, "", false, recommender.ErrVersionExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, canary := promoteScene(t)
			c, err := recommender.OpenCandidate(root, tc.candidate(root, canary), pub)
			if !errors.Is(err, tc.err) {
				t.Fatalf("OpenCandidate: %v, want %v", err, tc.err)
			}
			if err == nil && (c.Version != tc.version || (c.Source != "") != tc.foreign) {
				t.Errorf("candidate %+v, want version %s, from outside the root %v", c, tc.version, tc.foreign)
			}
		})
	}
	root, _ := promoteScene(t)
	if _, err := recommender.OpenCandidate(root, "v2", otherKey(t)); !errors.Is(err, recommender.ErrBadSignature) {
		t.Errorf("under another key: %v, want ErrBadSignature", err)
	}
}

func mustWrite(tb testing.TB, path, text string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestPromoteVersionOfTheRoot(t *testing.T) {
	priv, pub := testKey(t)
	root, _ := promoteScene(t)
	c, err := recommender.OpenCandidate(root, "v2", pub)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := recommender.Promote(root, c, recommender.Promotion{By: "ops", Reason: "roll forward"}, pub, recommender.SaveOptions{Key: priv})
	if err != nil || rec.From != "v1" || rec.To != "v2" || current(t, root) != "v2" {
		t.Fatalf("Promote = %+v, %v; current %s", rec, err, current(t, root))
	}
	log := promotions(t, root)
	if len(log) != 1 || log[0].From != "v1" || log[0].To != "v2" || log[0].By != "ops" || log[0].Reason != "roll forward" ||
		log[0].Source != "" || log[0].Time.IsZero() || log[0].Online != nil {
		t.Fatalf("promotions log %+v", log)
	}
	if _, err := recommender.Promote(root, c, recommender.Promotion{}, pub, recommender.SaveOptions{Key: priv}); !errors.Is(err, recommender.ErrAlreadyCurrent) {
		t.Fatalf("second Promote = %v, want ErrAlreadyCurrent", err)
	}
	if n := len(promotions(t, root)); n != 1 {
		t.Errorf("a refused promotion was logged: %d lines", n)
	}
}

func TestPromoteFromCanaryRoot(t *testing.T) {
	priv, pub := testKey(t)
	root, canary := promoteScene(t)
	c, err := recommender.OpenCandidate(root, canary, pub)
	if err != nil {
		t.Fatal(err)
	}
	online := &recommender.OnlineEvidence{Monitor: "http://m", Required: true, Promote: true, Reason: "ok", LowerBound: 0.01,
		Main: recommender.ArmFigures{Version: "v1", Found: true, Quality: 0.3, Settled: 1000}}
	if _, err := recommender.Promote(root, c, recommender.Promotion{By: "ops", Online: online}, pub, recommender.SaveOptions{Key: priv}); err != nil {
		t.Fatal(err)
	}
	m, err := recommender.LoadVerified(root, pub)
	if err != nil || m.Version() != "c1" || m.Meta().Parent != "v1" {
		t.Fatalf("current after import = %+v, %v; want c1 signed with parent v1", m, err)
	}
	log := promotions(t, root)
	if len(log) != 1 || log[0].Source != canary || log[0].Online == nil || *log[0].Online != *online {
		t.Fatalf("promotions log %+v", log)
	}
	if from, to, err := recommender.Rollback(root, pub); err != nil || from != "c1" || to != "v1" {
		t.Fatalf("Rollback after import = %s, %s, %v", from, to, err)
	}
	// The canary root, asked again, is now the root's own c1: promoted by name.
	again, err := recommender.OpenCandidate(root, canary, pub)
	if err != nil || again.Source != "" || again.Version != "c1" {
		t.Fatalf("canary root after import: %+v, %v", again, err)
	}
}

func TestPromoteRefusesImportUnderAnotherKey(t *testing.T) {
	_, pub := testKey(t)
	root, canary := promoteScene(t)
	c, err := recommender.OpenCandidate(root, canary, pub)
	if err != nil {
		t.Fatal(err)
	}
	_, err = recommender.Promote(root, c, recommender.Promotion{}, pub, recommender.SaveOptions{KeysDir: t.TempDir()})
	if !errors.Is(err, recommender.ErrBadSignature) || current(t, root) != "v1" || len(promotions(t, root)) != 0 {
		t.Fatalf("Promote signing with a fresh key = %v; current %s", err, current(t, root))
	}
	if _, err := os.Lstat(filepath.Join(root, "versions", "c1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a version that does not verify was left in the root: %v", err)
	}
}
