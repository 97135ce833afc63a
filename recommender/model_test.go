package recommender_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

// trainSmall: "c" has 3 users, "a" and "b" 2 each (tie, broken by id), "d" 1.
// User 1 watching "a" five times must not count more than once.
func trainSmall(tb testing.TB) *recommender.Model {
	tb.Helper()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var in []recommender.Interaction
	add := func(user string, items ...string) {
		for _, it := range items {
			in = append(in, recommender.Interaction{User: user, Item: it, Weight: 1, Time: t0})
		}
	}
	add("1", "a", "a", "a", "a", "a", "c")
	add("2", "b", "c")
	add("3", "c", "b", "d")
	add("4", "a")
	return recommender.TrainPopularity(in, "pop-1")
}

func items(s []recommender.Scored) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.Item
	}
	return out
}

func TestRecommend(t *testing.T) {
	m := trainSmall(t)
	tests := []struct {
		name        string
		user        string
		k           int
		excludeSeen bool
		want        []string
	}{
		{"popular order, ties by id", "1", 10, false, []string{"c", "a", "b", "d"}},
		{"k cuts", "1", 2, false, []string{"c", "a"}},
		{"exclude seen", "1", 10, true, []string{"b", "d"}},
		{"exclude seen then k", "3", 1, true, []string{"a"}},
		{"unknown user gets popular", "999", 3, true, []string{"c", "a", "b"}},
		{"k zero", "1", 0, false, []string{}},
		{"everything seen", "3", 10, true, []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := items(m.Recommend(tc.user, tc.k, tc.excludeSeen))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Recommend(%q, %d, %v) = %v, want %v", tc.user, tc.k, tc.excludeSeen, got, tc.want)
			}
		})
	}
}

func TestPopularityScores(t *testing.T) {
	m := trainSmall(t)
	got := m.Recommend("x", 4, false)
	want := []float64{3.0 / 4, 2.0 / 4, 2.0 / 4, 1.0 / 4}
	for i := range want {
		if got[i].Score != want[i] {
			t.Errorf("score of %s = %v, want %v", got[i].Item, got[i].Score, want[i])
		}
	}
	meta := m.Meta()
	if meta.Kind != recommender.KindPopularity || meta.Version != "pop-1" || meta.Users != 4 || meta.Items != 4 || meta.Interactions != 12 {
		t.Errorf("meta = %+v", meta)
	}
	if !m.Knows("2") || m.Knows("5") {
		t.Error("Knows disagrees with the training data")
	}
}

func TestRecommendResultIsCallers(t *testing.T) {
	m := trainSmall(t)
	got := m.Recommend("1", 2, false)
	got[0].Item = "mutated"
	if again := m.Recommend("1", 1, false); again[0].Item != "c" {
		t.Fatalf("mutating a result changed the model: %v", again)
	}
}

func TestPopularityHalfLife(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	old, recent := now.Add(-30*24*time.Hour), now.Add(-time.Hour)
	in := []recommender.Interaction{
		{User: "1", Item: "old", Time: old}, {User: "2", Item: "old", Time: old},
		{User: "3", Item: "new", Time: recent},
	}
	plain := items(recommender.TrainPopularity(in, "v").Recommend("x", 2, false))
	if !slices.Equal(plain, []string{"old", "new"}) {
		t.Fatalf("without decay = %v", plain)
	}
	m := recommender.TrainPopularityWith(in, "v", recommender.PopularityConfig{HalfLife: 24 * time.Hour, Now: now})
	if got := items(m.Recommend("x", 2, false)); !slices.Equal(got, []string{"new", "old"}) {
		t.Fatalf("with a 1-day half-life = %v, want recent first", got)
	}
	if m.Meta().Params["half_life"] != "24h0m0s" {
		t.Errorf("params = %v", m.Meta().Params)
	}
}

func TestTrainEmpty(t *testing.T) {
	m := recommender.TrainPopularity(nil, "v")
	if got := m.Recommend("1", 5, true); len(got) != 0 {
		t.Fatalf("empty model recommended %v", got)
	}
}

func BenchmarkRecommend(b *testing.B) {
	in := make([]recommender.Interaction, 0, 200000)
	for u := range 5000 {
		for j := range 40 {
			in = append(in, recommender.Interaction{User: fmt.Sprint(u), Item: fmt.Sprint((u*7 + j*j) % 3000), Weight: 1})
		}
	}
	m := recommender.TrainPopularity(in, "bench")
	b.Run("exclude-seen", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			m.Recommend(fmt.Sprint(i%5000), 20, true)
		}
	})
	b.Run("popular", func(b *testing.B) {
		for b.Loop() {
			m.Recommend("unknown", 20, false)
		}
	})
}
