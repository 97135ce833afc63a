package recommender

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// SplitPerUser holds out about testFraction of each user's distinct items for
// testing: a per-user stratified split, so every user with at least two items
// is evaluated and none is lost from training.
//
// A (user, item) pair is the unit: all of its interactions (a course log has one
// watch line per minute) go to the same side, so an item is never both seen in
// training and expected in testing for one user. Each user's distinct items are
// sorted and then shuffled by a generator seeded from seed and the user id, so
// the split does not depend on the input's order or on the other users. A user
// with n ≥ 2 distinct items gets round(testFraction·n) of them in test, clamped
// to [1, n-1]; a user with one item stays wholly in train, as does everyone when
// testFraction is not positive. Both halves keep the input's order.
func SplitPerUser(in []Interaction, testFraction float64, seed int64) (train, test []Interaction) {
	items := make(map[string]map[string]struct{})
	for _, x := range in {
		set := items[x.User]
		if set == nil {
			set = make(map[string]struct{})
			items[x.User] = set
		}
		set[x.Item] = struct{}{}
	}
	heldOut := make(map[[2]string]struct{})
	if testFraction > 0 { // false for NaN too
		for user, set := range items {
			for _, item := range heldOutItems(user, sortedKeys(set), testFraction, seed) {
				heldOut[[2]string{user, item}] = struct{}{}
			}
		}
	}
	train = make([]Interaction, 0, len(in)-len(heldOut))
	for _, x := range in {
		if _, ok := heldOut[[2]string{x.User, x.Item}]; ok {
			test = append(test, x)
		} else {
			train = append(train, x)
		}
	}
	return train, test
}

// heldOutItems picks the test items among one user's sorted distinct items.
func heldOutItems(user string, items []string, testFraction float64, seed int64) []string {
	n := len(items)
	if n < 2 {
		return nil
	}
	nTest := int(math.Round(testFraction * float64(n)))
	nTest = max(1, min(nTest, n-1))
	rng := rand.New(rand.NewPCG(uint64(seed), userStream(user)))
	rng.Shuffle(n, func(i, j int) { items[i], items[j] = items[j], items[i] })
	return items[:nTest]
}

// userStream derives a user's generator stream from the user id alone, so a
// user's split stays the same when other users come or go.
func userStream(user string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(user))
	return h.Sum64()
}
