package main

import (
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/reelguard/reelguard/recommender"
)

// maxValidationUsers bounds the users --algo auto validates on. Beyond it a
// seeded sample stands in for all: ranking four algorithms needs a few
// thousand users' held-out items, not a million, and at course scale (1M
// users) validating on everyone would train every candidate once more on
// three quarters of the data before the real training starts.
const maxValidationUsers = 20000

// validationSample returns in when it has at most limit users, otherwise
// the interactions of limit users drawn with seed (the same seed draws the
// same users), in their original order.
func validationSample(in []recommender.Interaction, limit int, seed int64) []recommender.Interaction {
	index := map[string]int{}
	var users []string
	for _, x := range in {
		if _, ok := index[x.User]; !ok {
			index[x.User] = len(users)
			users = append(users, x.User)
		}
	}
	if len(users) <= limit {
		return in
	}
	slices.Sort(users) // the draw depends on the users, not on line order
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5a_3b1e))
	keep := make(map[string]struct{}, limit)
	for _, i := range rng.Perm(len(users))[:limit] {
		keep[users[i]] = struct{}{}
	}
	out := make([]recommender.Interaction, 0, len(in)*limit/len(users)+1)
	for _, x := range in {
		if _, ok := keep[x.User]; ok {
			out = append(out, x)
		}
	}
	return out
}

// evaluateEach is recommender.Evaluate with each algorithm on its own
// goroutine: EASE's inversion leaves a core idle much of the time, and the
// others fit beside it. Each run splits in with the same seed, so the
// results equal one Evaluate call's, in the order of names.
func evaluateEach(in []recommender.Interaction, algos map[string]recommender.TrainFunc, names []string, cfg recommender.EvalConfig) ([]recommender.EvalResult, error) {
	results := make([][]recommender.EvalResult, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { results[i], errs[i] = recommender.Evaluate(in, algos, []string{name}, cfg) })
	}
	wg.Wait()
	var out []recommender.EvalResult
	for i := range names {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, results[i]...)
	}
	return out, nil
}
