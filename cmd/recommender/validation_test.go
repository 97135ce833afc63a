package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func TestValidationSample(t *testing.T) {
	var in []recommender.Interaction
	for i := range 300 {
		in = append(in, recommender.Interaction{User: fmt.Sprint(i % 100), Item: fmt.Sprint(i), Weight: 1})
	}
	users := func(in []recommender.Interaction) []string {
		var u []string
		for _, x := range in {
			u = append(u, x.User)
		}
		slices.Sort(u)
		return slices.Compact(u)
	}
	if got := validationSample(in, 100, 1); len(got) != len(in) {
		t.Fatalf("100 users under a limit of 100: kept %d of %d interactions", len(got), len(in))
	}
	a, b, c := validationSample(in, 10, 1), validationSample(in, 10, 1), validationSample(in, 10, 2)
	if len(users(a)) != 10 || len(a) != 30 {
		t.Fatalf("limit 10: %d users, %d interactions; want 10 users with all 3 of theirs", len(users(a)), len(a))
	}
	if !slices.Equal(a, b) {
		t.Fatal("the same seed drew different users")
	}
	if slices.Equal(users(a), users(c)) {
		t.Fatal("seeds 1 and 2 drew the same users")
	}
}

// TestEvaluateEachMatchesEvaluate: running the algorithms concurrently
// changes nothing in the results but the timings.
func TestEvaluateEachMatchesEvaluate(t *testing.T) {
	var in []recommender.Interaction
	for u := range 40 {
		for i := range 8 {
			in = append(in, recommender.Interaction{User: fmt.Sprint(u), Item: fmt.Sprint((u*3 + i*i) % 25), Weight: 1})
		}
	}
	cfg := &algoConfig{ALS: recommender.ALSConfig{Factors: 4, Iterations: 2}}
	names := []string{"popularity", "als", "itemknn"}
	eval := recommender.EvalConfig{Seed: 3}
	want, err := recommender.Evaluate(in, cfg.evalFuncs(), names, eval)
	if err != nil {
		t.Fatal(err)
	}
	got, err := evaluateEach(in, cfg.evalFuncs(), names, eval)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i].TrainTime, want[i].RecommendTime, got[i].TrainTime, got[i].RecommendTime = 0, 0, 0, 0
	}
	if !slices.Equal(got, want) {
		t.Fatalf("evaluateEach %+v\nEvaluate     %+v", got, want)
	}
	if _, err := evaluateEach(in, cfg.evalFuncs(), []string{"als", "nope"}, eval); err == nil {
		t.Fatal("an unknown algorithm gave no error")
	}
}
