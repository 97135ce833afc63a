package recommender_test

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/reelguard/reelguard/recommender"
)

func TestLineage(t *testing.T) {
	root := t.TempDir()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	in := []recommender.Interaction{{User: "1", Item: "a", Weight: 1}, {User: "2", Item: "b", Weight: 1}}
	for _, v := range []string{"v1", "v2", "v3"} {
		opts := recommender.SaveOptions{Key: key, Metrics: map[string]float64{"ndcg@10": float64(len(v))}}
		if _, err := recommender.Publish(root, recommender.TrainPopularity(in, v), opts); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := recommender.Rollback(root, pub); err != nil { // current is v2 now: v3 is not in its lineage
		t.Fatal(err)
	}
	got, err := recommender.Lineage(root, pub)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Version != "v1" || got[1].Version != "v2" || got[1].Parent != "v1" || !got[1].Current ||
		got[0].Current || got[1].Metrics["ndcg@10"] != 2 {
		t.Errorf("lineage %+v, want v1 then current v2", got)
	}
	// A tampered parent ends the chain with the reason.
	md := filepath.Join(root, recommender.VersionsDir, "v1", recommender.MetadataFile)
	data, _ := os.ReadFile(md)
	if err := os.WriteFile(md, []byte(strings.Replace(string(data), `"v1"`, `"v0"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = recommender.Lineage(root, pub)
	if err != nil || len(got) != 2 || got[0].Version != "v1" || got[0].Err == "" {
		t.Errorf("tampered parent: %+v %v, want an entry saying why", got, err)
	}
	if _, err := recommender.Lineage(t.TempDir(), pub); !errors.Is(err, recommender.ErrNoCurrent) {
		t.Errorf("empty root: %v, want ErrNoCurrent", err)
	}
}

func TestReadFeedbackDecisionsSkipsBadLines(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, recommender.FeedbackDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	log := `{"current":"v1","promoted":true,"reason":"ok"}` + "\nnot json\n" + `{"current":"v2","promoted":false}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, recommender.FeedbackDecisionsFile), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	got, skipped, err := recommender.ReadFeedbackDecisions(root)
	if err != nil || skipped != 1 || len(got) != 2 || got[0].Current != "v1" || !got[0].Promoted || got[1].Current != "v2" {
		t.Errorf("got %+v, %d skipped, %v", got, skipped, err)
	}
	if got, _, err := recommender.ReadFeedbackDecisions(t.TempDir()); err != nil || got != nil {
		t.Errorf("no log: %v %v, want nothing", got, err)
	}
}

// FuzzTitleSlug: a title from an item file never yields anything but a
// course-style slug.
func FuzzTitleSlug(f *testing.F) {
	for _, s := range []string{"Shawshank Redemption, The (1994)", "Toy Story (1995)", "!!!", "", "(1999)", "Amélie (2001)", ", The"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, title string) {
		slug := recommender.TitleSlug(title)
		if !utf8.ValidString(slug) || strings.HasPrefix(slug, "+") || strings.HasSuffix(slug, "+") || strings.Contains(slug, "++") {
			t.Fatalf("TitleSlug(%q) = %q", title, slug)
		}
		for _, r := range slug {
			if !(r == '+' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') {
				t.Fatalf("TitleSlug(%q) = %q holds %q", title, slug, r)
			}
		}
	})
}
