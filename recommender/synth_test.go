package recommender_test

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// TestSynthPlantedGroups checks the planted structure is there to find: two
// users of the same taste group share clearly more movies than two users of
// different groups (Jaccard similarity of their movie sets).
func TestSynthPlantedGroups(t *testing.T) {
	s := recommender.NewSynth(recommender.GenConfig{Users: 300, Movies: 400, Events: 30000, Seed: 4})
	sets := make([]map[string]bool, 300)
	for u := range sets {
		sets[u] = map[string]bool{}
		for _, e := range s.AppendEvents(nil, u) {
			if e.Movie != "" {
				sets[u][e.Movie] = true
			}
		}
	}
	var same, diff [2]float64 // sum, count
	for a := range sets {
		for b := a + 1; b < len(sets); b++ {
			acc := &diff
			if s.UserGroup(a) == s.UserGroup(b) {
				acc = &same
			}
			acc[0] += jaccard(sets[a], sets[b])
			acc[1]++
		}
	}
	sameMean, diffMean := same[0]/same[1], diff[0]/diff[1]
	if sameMean < 3*diffMean {
		t.Errorf("same-group Jaccard %.4f vs different-group %.4f: want at least 3x", sameMean, diffMean)
	}
}

func jaccard(a, b map[string]bool) float64 {
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	if union := len(a) + len(b) - inter; union > 0 {
		return float64(inter) / float64(union)
	}
	return 0
}

// TestSynthLikingShowsInRatings checks ratings follow the planted affinity:
// movies of the user's own group are rated higher than others.
func TestSynthLikingShowsInRatings(t *testing.T) {
	s := recommender.NewSynth(recommender.GenConfig{Users: 200, Movies: 300, Events: 8000, Seed: 2})
	var own, other [2]float64
	for u := range 200 {
		for _, x := range s.AppendRatings(nil, u) {
			var i int
			fmt.Sscan(x.Item, &i)
			acc := &other
			if s.ItemGroup(i-1) == s.UserGroup(u) {
				acc = &own
			}
			acc[0] += x.Weight
			acc[1]++
		}
	}
	if ownMean, otherMean := own[0]/own[1], other[0]/other[1]; ownMean < otherMean+1 {
		t.Errorf("mean rating of own-group movies %.2f vs others %.2f: want a gap of at least 1", ownMean, otherMean)
	}
}

func TestSynthRatingsShape(t *testing.T) {
	cfg := recommender.GenConfig{Users: 40, Movies: 300, Events: 600, Seed: 9}
	s := recommender.NewSynth(cfg)
	total := 0
	for u := range cfg.Users {
		seen := map[string]bool{}
		rs := s.AppendRatings(nil, u)
		if !reflect.DeepEqual(rs, s.AppendRatings(nil, u)) {
			t.Fatalf("user %d: ratings differ between calls", u)
		}
		for _, x := range rs {
			if seen[x.Item] || x.Weight < 1 || x.Weight > 5 || x.User != fmt.Sprint(u+1) {
				t.Fatalf("user %d: bad or repeated rating %+v", u, x)
			}
			seen[x.Item] = true
		}
		total += len(rs)
	}
	if total != cfg.Events {
		t.Errorf("%d ratings, want %d", total, cfg.Events)
	}
}

// TestSynthRatingsReadBack writes ratings in the u.data layout and reads them
// back with ReadMovieLens.
func TestSynthRatingsReadBack(t *testing.T) {
	s := recommender.NewSynth(recommender.GenConfig{Users: 20, Movies: 50, Events: 300, Seed: 1})
	var buf bytes.Buffer
	var want []recommender.Interaction
	for u := range 20 {
		for _, x := range s.AppendRatings(nil, u) {
			fmt.Fprintf(&buf, "%s\t%s\t%d\t%d\n", x.User, x.Item, int(x.Weight), x.Time.Unix())
			x.Time = x.Time.UTC()
			want = append(want, x)
		}
	}
	got, err := recommender.ReadMovieLens(&buf)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %d ratings (err %v), want %d equal ones", len(got), err, len(want))
	}
}

func TestSynthMetadata(t *testing.T) {
	s := recommender.NewSynth(recommender.GenConfig{Users: 50, Movies: 40, Seed: 3})
	for i := range 40 {
		it := s.Item(i)
		if !slugRE.MatchString(it.ID) || len(it.Genres) == 0 || !strings.HasSuffix(it.Title, ")") {
			t.Fatalf("item %d = %+v", i, it)
		}
	}
	ages := map[int]bool{}
	for u := range 50 {
		x := s.User(u)
		if x.ID != fmt.Sprint(u+1) || x.Age < 7 || x.Age > 73 || (x.Gender != "M" && x.Gender != "F") || x.Occupation == "" {
			t.Fatalf("user %d = %+v", u, x)
		}
		ages[x.Age] = true
	}
	if len(ages) < 10 {
		t.Errorf("only %d distinct ages", len(ages))
	}
}
