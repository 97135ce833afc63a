package recommender

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestALSLossMatchesBruteForce sums the objective over every (user, item)
// pair directly and compares it with alsLoss's Gram-matrix shortcut.
func TestALSLossMatchesBruteForce(t *testing.T) {
	in := []Interaction{{User: "a", Item: "x", Weight: 2}, {User: "a", Item: "y", Weight: 1},
		{User: "b", Item: "y", Weight: 3}, {User: "c", Item: "z", Weight: 1}}
	cfg := ALSConfig{Factors: 3, Alpha: 2, Regularization: 0.5, Workers: 2}.WithDefaults()
	d, err := newALSData(in, cfg.Alpha)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	users, items := randomFactors(rng, len(d.users), 3), randomFactors(rng, len(d.items), 3)
	for i := range users {
		users[i] *= 50 // away from zero, so every term matters
	}
	for i := range items {
		items[i] *= 50
	}
	weight := map[[2]string]float64{}
	for _, x := range in {
		weight[[2]string{x.User, x.Item}] += x.Weight
	}
	var sum, conf float64
	for u, user := range d.users {
		for i, item := range d.items {
			r := float64(dot32(users[u*3:u*3+3], items[i*3:i*3+3]))
			c, p := 1.0, 0.0
			if w, ok := weight[[2]string{user, item}]; ok {
				c, p = 1+float64(cfg.Alpha)*w, 1
				conf += float64(cfg.Alpha) * w
			}
			sum += c * (p - r) * (p - r)
		}
	}
	for _, v := range append(append([]float32{}, users...), items...) {
		sum += float64(cfg.Regularization) * float64(v) * float64(v)
	}
	want := sum / (float64(len(d.users)*len(d.items)) + conf)
	if got := alsLoss(users, items, d, cfg); math.Abs(got-want) > 1e-6*math.Max(1, want) {
		t.Errorf("alsLoss %v, brute force %v", got, want)
	}
}

// TestGroupShares counts by hand: the base has two women and one man;
// the data has one woman (3 interactions) and one user not in the file.
func TestGroupShares(t *testing.T) {
	users := map[string]UserInfo{"1": {Gender: "F"}, "2": {Gender: "F"}, "3": {Gender: "M"}}
	in := []Interaction{{User: "1", Item: "a"}, {User: "1", Item: "b"}, {User: "1", Item: "c"}, {User: "9", Item: "a"}}
	got := groupShares(in, users, GenderOf(users), []string{"F", "M"})
	want := []GroupShare{
		{Group: "F", BaseUsers: 2, BaseShare: 2.0 / 3, DataUsers: 1, DataUserShare: 0.5, Interactions: 3, InteractionShare: 0.75},
		{Group: "M", BaseUsers: 1, BaseShare: 1.0 / 3},
		{Group: UnknownGroup, DataUsers: 1, DataUserShare: 0.5, Interactions: 1, InteractionShare: 0.25},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestALSConfigFromParams(t *testing.T) {
	p := alsParams(ALSConfig{Factors: 7, Iterations: 3, Regularization: 2.5, Alpha: 4, CGSteps: 2, Seed: 9},
		map[string]string{"min_support": "3"})
	c := alsConfigFromParams(p)
	if c.Factors != 7 || c.Iterations != 3 || c.Regularization != 2.5 || c.Alpha != 4 || c.CGSteps != 2 || c.Seed != 9 ||
		c.Popularity.MinSupport != 3 {
		t.Errorf("rebuilt %+v from %v", c, p)
	}
	if d := alsConfigFromParams(nil); d.Factors != DefaultALSFactors || d.Iterations != DefaultALSIterations {
		t.Errorf("no params: %+v, want the defaults", d)
	}
}
