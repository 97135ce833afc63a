package recommender_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// splitData gives user i (0 ≤ i < users) i+1 distinct items, each seen one to
// three times, in a shuffled order.
func splitData(users int) []recommender.Interaction {
	rng := rand.New(rand.NewPCG(7, 7))
	var in []recommender.Interaction
	for u := range users {
		for it := range u + 1 {
			for range 1 + rng.IntN(3) {
				in = append(in, recommender.Interaction{
					User: fmt.Sprint(u), Item: fmt.Sprintf("m%d", (u*7+it*13)%97), Weight: 1,
				})
			}
		}
	}
	rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
	return in
}

// distinctPairs groups interactions into each user's set of distinct items.
func distinctPairs(in []recommender.Interaction) map[string]map[string]bool {
	out := make(map[string]map[string]bool)
	for _, x := range in {
		if out[x.User] == nil {
			out[x.User] = make(map[string]bool)
		}
		out[x.User][x.Item] = true
	}
	return out
}

func TestSplitPerUserDeterministic(t *testing.T) {
	in := splitData(60)
	train1, test1 := recommender.SplitPerUser(in, 0.25, 42)
	train2, test2 := recommender.SplitPerUser(in, 0.25, 42)
	if !reflect.DeepEqual(train1, train2) || !reflect.DeepEqual(test1, test2) {
		t.Fatal("same input and seed gave different splits")
	}
	// Input order does not matter: reversed input, same held-out pairs.
	rev := make([]recommender.Interaction, len(in))
	for i, x := range in {
		rev[len(in)-1-i] = x
	}
	_, testRev := recommender.SplitPerUser(rev, 0.25, 42)
	if !reflect.DeepEqual(distinctPairs(test1), distinctPairs(testRev)) {
		t.Error("reordering the input changed the split")
	}
	// Another user's presence does not matter either.
	var without []recommender.Interaction
	for _, x := range in {
		if x.User != "59" {
			without = append(without, x)
		}
	}
	_, testWithout := recommender.SplitPerUser(without, 0.25, 42)
	want := distinctPairs(test1)
	delete(want, "59")
	if !reflect.DeepEqual(want, distinctPairs(testWithout)) {
		t.Error("removing user 59 changed other users' splits")
	}
	_, test3 := recommender.SplitPerUser(in, 0.25, 43)
	if reflect.DeepEqual(distinctPairs(test1), distinctPairs(test3)) {
		t.Error("seeds 42 and 43 gave the same split")
	}
}

func TestSplitPerUserStratified(t *testing.T) {
	in := splitData(60)
	const fraction = 0.25
	train, test := recommender.SplitPerUser(in, fraction, 1)
	if len(train)+len(test) != len(in) {
		t.Fatalf("train %d + test %d != input %d", len(train), len(test), len(in))
	}
	all, tr, te := distinctPairs(in), distinctPairs(train), distinctPairs(test)
	var bigTest, bigAll int
	for user, items := range all {
		n := len(items)
		for item := range te[user] {
			if tr[user][item] {
				t.Errorf("user %s item %s in both halves", user, item)
			}
		}
		if len(tr[user])+len(te[user]) != n {
			t.Errorf("user %s: %d train + %d test items, want %d", user, len(tr[user]), len(te[user]), n)
		}
		wantTest := max(1, min(int(math.Round(fraction*float64(n))), n-1))
		if n < 2 {
			wantTest = 0
		}
		if len(te[user]) != wantTest {
			t.Errorf("user %s with %d items: %d in test, want %d", user, n, len(te[user]), wantTest)
		}
		if n >= 20 {
			bigTest += len(te[user])
			bigAll += n
		}
	}
	if got := float64(bigTest) / float64(bigAll); math.Abs(got-fraction) > 0.01 {
		t.Errorf("users with ≥20 items: %.3f of items in test, want %.2f ± 0.01", got, fraction)
	}
}

func TestSplitPerUserNoTest(t *testing.T) {
	in := splitData(10)
	for _, f := range []float64{0, -1, math.NaN()} {
		train, test := recommender.SplitPerUser(in, f, 1)
		if len(test) != 0 || len(train) != len(in) {
			t.Errorf("fraction %v: %d train, %d test; want everything in train", f, len(train), len(test))
		}
	}
	// Fraction 1 still leaves each user one training item.
	train, _ := recommender.SplitPerUser(in, 1, 1)
	if got, want := len(distinctPairs(train)), 10; got != want {
		t.Errorf("fraction 1: %d users in train, want %d", got, want)
	}
}

func FuzzSplitPerUser(f *testing.F) {
	f.Add([]byte{1, 2, 1, 3, 2, 2, 1, 2}, 0.25, int64(1))
	f.Add([]byte{0, 0, 0, 0}, 0.5, int64(-3))
	f.Add([]byte{}, 0.0, int64(0))
	f.Fuzz(func(t *testing.T, data []byte, fraction float64, seed int64) {
		var in []recommender.Interaction
		for i := 0; i+1 < len(data); i += 2 {
			in = append(in, recommender.Interaction{User: fmt.Sprint(data[i] % 8), Item: fmt.Sprint(data[i+1] % 16)})
		}
		train, test := recommender.SplitPerUser(in, fraction, seed)
		if len(train)+len(test) != len(in) {
			t.Fatalf("lost interactions: %d + %d != %d", len(train), len(test), len(in))
		}
		tr, te := distinctPairs(train), distinctPairs(test)
		for user, items := range te {
			if len(tr[user]) == 0 {
				t.Errorf("user %s has test items but no training items", user)
			}
			for item := range items {
				if tr[user][item] {
					t.Errorf("user %s item %s in both halves", user, item)
				}
			}
		}
	})
}
