package recommender_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func popularityAlgo(train []recommender.Interaction) (*recommender.Model, error) {
	return recommender.TrainPopularity(train, "eval-test"), nil
}

// commonAndOwn gives each of 20 users the four common items c0..c3 and four
// items of their own: eight distinct items, so SplitPerUser holds out two.
func commonAndOwn() []recommender.Interaction {
	var in []recommender.Interaction
	for u := range 20 {
		user := fmt.Sprint(u)
		for i := range 4 {
			in = append(in, recommender.Interaction{User: user, Item: fmt.Sprintf("c%d", i), Weight: 1})
			in = append(in, recommender.Interaction{User: user, Item: fmt.Sprintf("own%d-%d", u, i), Weight: 1})
		}
	}
	return in
}

// With commonAndOwn, popularity's top 10 for a user starts with the common
// items they held out (each still liked by most other users), followed by
// other users' own items, liked by one user each; the user's own held-out
// items are unknown to the model. So a user who held out h common items has
// hits exactly at ranks 1..h of 10, with two relevant items:
// P = h/10, R = h/2, AP = h/min(2, 10), nDCG = Σ_{r≤h} 1/log2(r+1) / (1 + 1/log2 3).
func TestEvaluatePopularityKnownMetrics(t *testing.T) {
	in := commonAndOwn()
	cfg := recommender.EvalConfig{Seed: 3}
	res, err := recommender.Evaluate(in, map[string]recommender.TrainFunc{"popularity": popularityAlgo}, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Algo != "popularity" {
		t.Fatalf("results %+v, want one popularity row", res)
	}
	_, test := recommender.SplitPerUser(in, recommender.DefaultEvalTestFraction, cfg.Seed)
	var want recommender.EvalResult
	idcg := 1 + 1/math.Log2(3)
	held := distinctPairs(test)
	for _, items := range held {
		h := 0
		for item := range items {
			if item[0] == 'c' {
				h++
			}
		}
		want.Precision += float64(h) / 10
		want.Recall += float64(h) / 2
		want.MAP += float64(h) / 2
		for r := 1; r <= h; r++ {
			want.NDCG += 1 / math.Log2(float64(r+1)) / idcg
		}
	}
	n := float64(len(held))
	got := res[0]
	if got.Users != 20 || len(held) != 20 {
		t.Errorf("evaluated %d users (split held out items of %d), want 20", got.Users, len(held))
	}
	for _, m := range []struct {
		name      string
		got, want float64
	}{
		{"MAP", got.MAP, want.MAP / n}, {"NDCG", got.NDCG, want.NDCG / n},
		{"Precision", got.Precision, want.Precision / n}, {"Recall", got.Recall, want.Recall / n},
	} {
		if m.want == 0 {
			t.Fatalf("%s: the split held out no common item; pick another seed", m.name)
		}
		if math.Abs(m.got-m.want) > 1e-12 {
			t.Errorf("%s = %.6f, want %.6f", m.name, m.got, m.want)
		}
	}
	if got.Coverage <= 0 || got.Coverage > 1 {
		t.Errorf("Coverage = %v, want in (0, 1]", got.Coverage)
	}
	if got.TrainTime <= 0 || got.RecommendTime <= 0 {
		t.Errorf("times %v, %v: want positive", got.TrainTime, got.RecommendTime)
	}
}

// Every user holds the same four items and holds out one, so the only item a
// user has not seen in training is the held-out one: popularity recommends it
// alone, first. P@10 = 1/10, R = AP = nDCG = 1.
func TestEvaluatePerfectSingleHit(t *testing.T) {
	var in []recommender.Interaction
	for u := range 30 {
		for _, item := range []string{"a", "b", "c", "d"} {
			in = append(in, recommender.Interaction{User: fmt.Sprint(u), Item: item, Weight: 1})
		}
	}
	res, err := recommender.Evaluate(in, map[string]recommender.TrainFunc{"pop": popularityAlgo}, []string{"pop"}, recommender.EvalConfig{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	// Thirty additions of 0.1 round; the rest are exact.
	if r.Users != 30 || math.Abs(r.Precision-0.1) > 1e-12 || r.Recall != 1 || r.MAP != 1 || r.NDCG != 1 || r.Coverage != 1 {
		t.Errorf("got %+v, want 30 users, P 0.1, R = MAP = nDCG = coverage = 1", r)
	}
}

func TestEvaluateOrderAndDeterminism(t *testing.T) {
	in := commonAndOwn()
	algos := map[string]recommender.TrainFunc{"b": popularityAlgo, "a": popularityAlgo}
	r1, err := recommender.Evaluate(in, algos, []string{"b", "a"}, recommender.EvalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := recommender.Evaluate(in, algos, nil, recommender.EvalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if r1[0].Algo != "b" || r1[1].Algo != "a" || r2[0].Algo != "a" || r2[1].Algo != "b" {
		t.Errorf("orders %s,%s and %s,%s; want b,a and a,b", r1[0].Algo, r1[1].Algo, r2[0].Algo, r2[1].Algo)
	}
	strip := func(r recommender.EvalResult) recommender.EvalResult {
		r.Algo, r.TrainTime, r.RecommendTime = "", 0, 0
		return r
	}
	if strip(r1[0]) != strip(r2[0]) || strip(r1[0]) != strip(r1[1]) {
		t.Errorf("same algorithm, same split, different scores: %+v %+v %+v", r1[0], r2[0], r1[1])
	}
}

func TestEvaluateErrors(t *testing.T) {
	in := commonAndOwn()
	pop := map[string]recommender.TrainFunc{"popularity": popularityAlgo}
	errTrain := errors.New("boom")
	failing := map[string]recommender.TrainFunc{"bad": func([]recommender.Interaction) (*recommender.Model, error) { return nil, errTrain }}
	oneItemEach := []recommender.Interaction{{User: "1", Item: "a"}, {User: "2", Item: "b"}}
	tests := []struct {
		name  string
		in    []recommender.Interaction
		algos map[string]recommender.TrainFunc
		order []string
		cfg   recommender.EvalConfig
		want  error
	}{
		{"unknown algo", in, pop, []string{"als"}, recommender.EvalConfig{}, recommender.ErrBadEvalConfig},
		{"no algos", in, nil, nil, recommender.EvalConfig{}, recommender.ErrBadEvalConfig},
		{"negative k", in, pop, nil, recommender.EvalConfig{K: -1}, recommender.ErrBadEvalConfig},
		{"fraction 1", in, pop, nil, recommender.EvalConfig{TestFraction: 1}, recommender.ErrBadEvalConfig},
		{"fraction NaN", in, pop, nil, recommender.EvalConfig{TestFraction: math.NaN()}, recommender.ErrBadEvalConfig},
		{"nothing held out", oneItemEach, pop, nil, recommender.EvalConfig{}, recommender.ErrNoTestUsers},
		{"empty input", nil, pop, nil, recommender.EvalConfig{}, recommender.ErrNoTestUsers},
		{"train fails", in, failing, nil, recommender.EvalConfig{}, errTrain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := recommender.Evaluate(tt.in, tt.algos, tt.order, tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
