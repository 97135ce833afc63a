package recommender_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

// shillBase: items by count a(4) b(3) c(2) d(1) e(1); every rating of c is
// 2, of d 4 and of e 1, so an average attack must rate them exactly so.
func shillBase() []recommender.Interaction {
	var in []recommender.Interaction
	add := func(item string, ratings ...float64) {
		for i, r := range ratings {
			in = append(in, recommender.Interaction{User: fmt.Sprint(i + 1), Item: item, Weight: r})
		}
	}
	add("a", 5, 4, 5, 4)
	add("b", 1, 5, 3)
	add("c", 2, 2)
	add("d", 4)
	add("e", 1)
	return in
}

func TestShillProfiles(t *testing.T) {
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		kind     recommender.AttackKind
		filler   int
		selected []string // rated at the maximum besides the target
	}{
		{recommender.AttackRandom, 3, nil},
		{recommender.AttackAverage, 2, nil},
		{recommender.AttackBandwagon, 1, []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			cfg := recommender.ShillingConfig{Kind: tc.kind, Target: "e", Start: start, Profiles: 3, Filler: tc.filler,
				Selected: 2, Gap: time.Second, Seed: 3}
			out, err := recommender.Shill(shillBase(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			perProfile := 1 + tc.filler + len(tc.selected)
			if len(out) != 3*perProfile {
				t.Fatalf("%d ratings, want %d", len(out), 3*perProfile)
			}
			for p := range 3 {
				profile := out[p*perProfile : (p+1)*perProfile]
				user := fmt.Sprint(5 + p) // after the genuine 1..4
				items := map[string]float64{}
				for i, r := range profile {
					want := start.Add(time.Duration(p*perProfile+i) * time.Second) // profiles one after another
					if r.User != user || !r.Time.Equal(want) || r.Weight < 1 || r.Weight > 5 {
						t.Fatalf("profile %d rating %d = %+v", p, i, r)
					}
					if _, dup := items[r.Item]; dup {
						t.Fatalf("profile %d rates %s twice", p, r.Item)
					}
					items[r.Item] = r.Weight
				}
				if items["e"] != 5 {
					t.Errorf("profile %d rates the target %v", p, items["e"])
				}
				for _, s := range tc.selected {
					if items[s] != 5 {
						t.Errorf("bandwagon profile %d rates popular %s %v", p, s, items[s])
					}
				}
				if tc.kind == recommender.AttackAverage {
					for it, want := range map[string]float64{"c": 2, "d": 4} {
						if got, ok := items[it]; ok && got != want {
							t.Errorf("average attack rates %s %v, its mean (sd 0) is %v", it, got, want)
						}
					}
				}
			}
		})
	}
}

func TestShillErrors(t *testing.T) {
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, cfg := range []recommender.ShillingConfig{
		{Kind: "segment", Target: "e", Start: start},
		{Kind: recommender.AttackRandom, Start: start},
		{Kind: recommender.AttackRandom, Target: "e"},
		{Kind: recommender.AttackRandom, Target: "e", Start: start, Filler: 5}, // 6 items, 5 exist
		{Kind: recommender.AttackRandom, Target: "e", Start: start, Profiles: -1},
	} {
		if _, err := recommender.Shill(shillBase(), cfg); !errors.Is(err, recommender.ErrShilling) {
			t.Errorf("%+v: err %v, want ErrShilling", cfg, err)
		}
	}
}

func TestMeasureTarget(t *testing.T) {
	// Popularity order a, b, c, d; user 1 has seen a. For user 1 the unseen
	// list is b c d (target c at 2); for the unknown user 9 it is a b c d
	// (c at 3). With k=2: one hit of two.
	var in []recommender.Interaction
	for i, it := range []string{"a", "b", "c", "d"} {
		for u := range 4 - i {
			in = append(in, recommender.Interaction{User: fmt.Sprint(10 + u), Item: it, Weight: 1})
		}
	}
	in = append(in, recommender.Interaction{User: "1", Item: "a", Weight: 1})
	before := recommender.TrainPopularity(in, "p")
	st := recommender.MeasureTarget(before, "c", []string{"1", "9"}, 2)
	if st.Users != 2 || st.Rank != 2.5 || st.Hit != 0.5 {
		t.Fatalf("standing %+v, want 2 users, rank 2.5, hit 0.5", st)
	}
	// After the attack c leads (6 users to a's 5): rank 1 for both.
	attacked := append(in, recommender.Interaction{User: "20", Item: "c", Weight: 1},
		recommender.Interaction{User: "21", Item: "c", Weight: 1}, recommender.Interaction{User: "22", Item: "c", Weight: 1},
		recommender.Interaction{User: "23", Item: "c", Weight: 1})
	shift := recommender.CompareTarget(before, recommender.TrainPopularity(attacked, "q"), "c", []string{"1", "9"}, 2)
	if shift.After.Rank != 1 || shift.RankShift != 1.5 || shift.After.Hit != 1 || shift.PredictionShift <= 0 {
		t.Fatalf("shift %+v", shift)
	}
}
