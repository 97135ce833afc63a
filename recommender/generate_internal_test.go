package recommender

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// TestMovieSlugsLargeCatalog covers catalogs larger than the word lists can
// name: slugs stay distinct and well formed.
func TestMovieSlugsLargeCatalog(t *testing.T) {
	const n = 80000 // above half the capacity, so titles are numbered
	slugs := movieSlugs(rand.New(rand.NewPCG(1, 2)), n)
	valid := regexp.MustCompile(`^[a-z0-9+]+$`)
	taken := make(map[string]bool, n)
	for _, s := range slugs {
		if taken[s] || !valid.MatchString(s) {
			t.Fatalf("slug %q is a duplicate or malformed", s)
		}
		taken[s] = true
	}
	if len(slugs) != n {
		t.Fatalf("got %d slugs, want %d", len(slugs), n)
	}
}
