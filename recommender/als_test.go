package recommender_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

// plantedData makes users in groups, each group fond of its own block of
// items, plus noise drawn from a global popularity skew over all items. It
// holds out heldOut distinct items per user and returns train and test.
func plantedData(tb testing.TB, seed uint64) (train []recommender.Interaction, test map[string][]string) {
	tb.Helper()
	const (
		groups, usersPerGroup, itemsPerGroup = 8, 25, 20
		inGroup, noise, heldOut              = 10, 3, 3
		nItems                               = groups * itemsPerGroup
	)
	rng := rand.New(rand.NewPCG(seed, 7))
	popular := rand.NewZipf(rng, 1.2, 2, nItems-1)
	liked := rand.NewZipf(rng, 1.1, 4, itemsPerGroup-1) // tastes differ within a group
	perm := rng.Perm(nItems)                            // popularity does not follow the group blocks
	test = make(map[string][]string)
	for u := range groups * usersPerGroup {
		g, user := u%groups, fmt.Sprint(u+1)
		picked := map[int]bool{}
		for len(picked) < inGroup {
			picked[g*itemsPerGroup+int(liked.Uint64())] = true
		}
		for n := 0; n < noise; {
			if i := perm[popular.Uint64()]; !picked[i] {
				picked[i], n = true, n+1
			}
		}
		its := make([]int, 0, len(picked))
		for i := range picked {
			its = append(its, i)
		}
		slices.Sort(its)
		rng.Shuffle(len(its), func(a, b int) { its[a], its[b] = its[b], its[a] })
		for j, i := range its {
			item := fmt.Sprintf("m%03d", i)
			if j < heldOut {
				test[user] = append(test[user], item)
				continue
			}
			train = append(train, recommender.Interaction{User: user, Item: item, Weight: 1})
		}
	}
	return train, test
}

// recallAt10 is the mean share of each user's held-out items in their top 10
// over items they have not seen in training.
func recallAt10(m *recommender.Model, test map[string][]string) float64 {
	var sum float64
	for user, held := range test {
		recs := m.Recommend(user, 10, true)
		hits := 0
		for _, r := range recs {
			if slices.Contains(held, r.Item) {
				hits++
			}
		}
		sum += float64(hits) / float64(len(held))
	}
	return sum / float64(len(test))
}

func smallALSConfig() recommender.ALSConfig {
	return recommender.ALSConfig{Factors: 16, Iterations: 8, Regularization: 0.1, Alpha: 10, Seed: 1, Workers: 2}
}

// TestALSRecoversPlantedStructure: popularity cannot see the groups, ALS must.
// Random or untrained factors would score about 10/160 ≈ 0.06, below
// popularity, so a broken solver fails here.
func TestALSRecoversPlantedStructure(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		train, test := plantedData(t, seed)
		als, err := recommender.TrainALS(train, "als-1", smallALSConfig())
		if err != nil {
			t.Fatal(err)
		}
		pop := recommender.TrainPopularity(train, "pop-1")
		ra, rp := recallAt10(als, test), recallAt10(pop, test)
		t.Logf("seed %d: recall@10 als %.3f, popularity %.3f", seed, ra, rp)
		if ra < 2*rp || ra < rp+0.2 {
			t.Errorf("seed %d: recall@10 als %.3f vs popularity %.3f; want >= 2x and +0.2", seed, ra, rp)
		}
	}
}

func TestALSDeterministicAcrossWorkers(t *testing.T) {
	train, _ := plantedData(t, 3)
	var want [][]recommender.Scored
	for _, workers := range []int{1, 3} {
		cfg := smallALSConfig()
		cfg.Workers = workers
		m, err := recommender.TrainALS(train, "v", cfg)
		if err != nil {
			t.Fatal(err)
		}
		var got [][]recommender.Scored
		for u := 1; u <= 50; u++ {
			got = append(got, m.Recommend(fmt.Sprint(u), 10, false))
		}
		if want == nil {
			want = got
		} else if !reflect.DeepEqual(got, want) {
			t.Fatalf("workers=%d changed the model", workers)
		}
	}
}

func TestALSRecommend(t *testing.T) {
	train, _ := plantedData(t, 4)
	m, err := recommender.TrainALS(train, "als-7", smallALSConfig())
	if err != nil {
		t.Fatal(err)
	}
	meta := m.Meta()
	if meta.Kind != recommender.KindALS || meta.Version != "als-7" || meta.Users != 200 || meta.Params["factors"] != "16" {
		t.Errorf("meta = %+v", meta)
	}
	seen := map[string]bool{}
	for _, x := range train {
		if x.User == "1" {
			seen[x.Item] = true
		}
	}
	all := m.Recommend("1", 1000, true)
	if len(all) != meta.Items-len(seen) {
		t.Errorf("exclude-seen over everything gave %d items, want %d", len(all), meta.Items-len(seen))
	}
	for i, s := range all {
		if seen[s.Item] {
			t.Errorf("seen item %s recommended", s.Item)
		}
		if i > 0 && (s.Score > all[i-1].Score || s.Score == all[i-1].Score && s.Item < all[i-1].Item) {
			t.Errorf("out of order at %d: %v after %v", i, s, all[i-1])
		}
	}
	if got := len(m.Recommend("1", 1000, false)); got != meta.Items {
		t.Errorf("without exclusion %d items, want %d", got, meta.Items)
	}
	cold := m.Recommend("unknown", 5, true)
	want := recommender.TrainPopularity(train, "p").Recommend("unknown", 5, true)
	if !reflect.DeepEqual(cold, want) {
		t.Errorf("cold start = %v, want the popular list %v", cold, want)
	}
	if m.Recommend("1", 0, true) != nil {
		t.Error("k=0 returned items")
	}
}

func TestTrainALSRejects(t *testing.T) {
	ok := []recommender.Interaction{{User: "1", Item: "a", Weight: 1}}
	tests := []struct {
		name string
		in   []recommender.Interaction
		cfg  recommender.ALSConfig
		want error
	}{
		{"negative factors", ok, recommender.ALSConfig{Factors: -1}, recommender.ErrInvalidConfig},
		{"huge factors", ok, recommender.ALSConfig{Factors: 1 << 20}, recommender.ErrInvalidConfig},
		{"negative alpha", ok, recommender.ALSConfig{Alpha: -1}, recommender.ErrInvalidConfig},
		{"negative regularization", ok, recommender.ALSConfig{Regularization: -0.1}, recommender.ErrInvalidConfig},
		{"negative weight", []recommender.Interaction{{User: "1", Item: "a", Weight: -1}}, recommender.ALSConfig{}, recommender.ErrBadInteraction},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := recommender.TrainALS(tc.in, "v", tc.cfg); !errors.Is(err, tc.want) {
				t.Fatalf("TrainALS = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTrainALSEmpty(t *testing.T) {
	m, err := recommender.TrainALS(nil, "v", recommender.ALSConfig{Factors: 4, Iterations: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Recommend("1", 5, true); len(got) != 0 {
		t.Fatalf("empty model recommended %v", got)
	}
}

func TestALSProgress(t *testing.T) {
	train, _ := plantedData(t, 4)
	cfg := smallALSConfig()
	var calls []string
	cfg.Progress = func(done, total int, took time.Duration) {
		if took < 0 {
			t.Errorf("iteration %d took %v", done, took)
		}
		calls = append(calls, fmt.Sprintf("%d/%d", done, total))
	}
	if _, err := recommender.TrainALS(train, "v", cfg); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range cfg.Iterations {
		want = append(want, fmt.Sprintf("%d/%d", i+1, cfg.Iterations))
	}
	if !slices.Equal(calls, want) {
		t.Fatalf("progress calls %v, want %v", calls, want)
	}
}
