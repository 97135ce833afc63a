package recommender_test

import (
	"math"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

const divEps = 1e-9

func closeTo(a, b float64) bool { return math.Abs(a-b) < divEps }

func TestGini(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"equal", []float64{1, 1, 1, 1}, 0},
		{"one takes all", []float64{0, 0, 0, 4}, 0.75}, // (2·4−4−1)·4 / (4·4)
		{"order does not matter", []float64{4, 0, 0, 0}, 0.75},
		// sorted 1,2,3,4: (−3·1 −1·2 +1·3 +3·4) / (4·10) = 10/40
		{"ramp", []float64{3, 1, 4, 2}, 0.25},
		{"nothing shown", []float64{0, 0, 0}, 0},
		{"one item", []float64{5}, 0},
		{"negative is zero", []float64{-3, 0, 0, 4}, 0.75},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := recommender.Gini(tc.in); !closeTo(got, tc.want) {
				t.Errorf("Gini(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestJaccard(t *testing.T) {
	for _, tc := range []struct {
		a, b []string
		want float64
	}{
		{[]string{"a", "b", "c"}, []string{"b", "c", "d"}, 2.0 / 4},
		{[]string{"a", "b"}, []string{"a", "b"}, 1},
		{[]string{"a"}, []string{"b"}, 0},
		{nil, nil, 0},
		{[]string{"a", "a", "b"}, []string{"a"}, 1.0 / 2}, // sets: {a,b} and {a}
	} {
		if got := recommender.Jaccard(tc.a, tc.b); !closeTo(got, tc.want) {
			t.Errorf("Jaccard(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestPersonalization(t *testing.T) {
	lists := [][]string{{"a", "b"}, {"a", "c"}, {"d", "e"}}
	// pairs: J(1,2) = 1/3, J(1,3) = 0, J(2,3) = 0; mean 1/9.
	if got := recommender.Personalization(lists, 10, 1); !closeTo(got, 1-1.0/9) {
		t.Errorf("all pairs: %v, want %v", got, 1-1.0/9)
	}
	same := [][]string{{"a", "b"}, {"b", "a"}, {"a", "b"}}
	if got := recommender.Personalization(same, 10, 1); !closeTo(got, 0) {
		t.Errorf("identical lists: %v, want 0", got)
	}
	// Sampled: every pair of these lists is disjoint, so any sample gives 1,
	// and the same seed gives the same figure on lists that differ.
	many := make([][]string, 400)
	for i := range many {
		many[i] = []string{string(rune('a' + i%7)), string(rune('A' + i%5))}
	}
	a, b := recommender.Personalization(many, 500, 7), recommender.Personalization(many, 500, 7)
	if a != b || a <= 0 || a >= 1 {
		t.Errorf("sampled personalization %v then %v: want one value in (0, 1)", a, b)
	}
	if got := recommender.Personalization(lists[:1], 10, 1); got != 0 {
		t.Errorf("one list: %v, want 0", got)
	}
}

func TestCalibrationKL(t *testing.T) {
	p := map[string]float64{"Drama": 0.5, "Comedy": 0.5}
	for _, tc := range []struct {
		name string
		q    map[string]float64
		want float64
	}{
		{"same", map[string]float64{"Drama": 0.5, "Comedy": 0.5}, 0},
		// q̃ = 0.99·(1, 0) + 0.01·(0.5, 0.5) = (0.995, 0.005)
		{"one genre missing", map[string]float64{"Drama": 1},
			0.5*math.Log(0.5/0.995) + 0.5*math.Log(0.5/0.005)},
		// q̃ = (0.99·0.75 + 0.005, 0.99·0.25 + 0.005) = (0.7475, 0.2525)
		{"skewed", map[string]float64{"Drama": 0.75, "Comedy": 0.25},
			0.5*math.Log(0.5/0.7475) + 0.5*math.Log(0.5/0.2525)},
		{"disjoint", map[string]float64{"Horror": 1}, math.Log(1 / 0.01)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := recommender.CalibrationKL(p, tc.q, 0.01); !closeTo(got, tc.want) {
				t.Errorf("KL = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGenreDistribution(t *testing.T) {
	genres := map[string][]string{"x": {"Drama", "Comedy"}, "y": {"Drama"}, "z": nil}
	got := recommender.GenreDistribution([]string{"x", "y", "z"}, func(i string) []string { return genres[i] })
	// x gives 1/2 and 1/2, y 1, z 1 to "(none)": total 3.
	want := map[string]float64{"Drama": 1.5 / 3, "Comedy": 0.5 / 3, recommender.UnknownGenre: 1.0 / 3}
	for g, v := range want {
		if !closeTo(got[g], v) {
			t.Errorf("%s: %v, want %v (all: %v)", g, got[g], v, got)
		}
	}
}

func TestShortHead(t *testing.T) {
	counts := map[string]int{"a": 9, "b": 7, "c": 7, "d": 1, "e": 1, "f": 1, "g": 0, "h": 0, "i": 0, "j": 0, "k": 0}
	// 20% of 11 items, rounded up, is 3: a, then b and c.
	head := recommender.ShortHead(counts)
	if len(head) != 3 {
		t.Fatalf("head %v, want a, b, c", head)
	}
	for _, item := range []string{"a", "b", "c"} {
		if _, ok := head[item]; !ok {
			t.Errorf("%s not in head %v", item, head)
		}
	}
}

// TestListDiversity works every measure out on four users and five items.
func TestListDiversity(t *testing.T) {
	var in []recommender.Interaction
	add := func(user string, items ...string) {
		for _, it := range items {
			in = append(in, recommender.Interaction{User: user, Item: it, Weight: 1})
		}
	}
	add("u1", "a", "b")
	add("u2", "a", "c")
	add("u3", "a", "d")
	add("u4", "a", "e", "e") // a repeat counts once
	users := []string{"u1", "u2", "u3", "u4"}
	lists := [][]string{{"a", "b"}, {"a", "b"}, {"a", "c"}, {}}
	genres := map[string][]string{"a": {"Drama"}, "b": {"Comedy"}, "c": {"Drama"}, "d": {"Drama"}, "e": {"Comedy"}}
	st := recommender.ListDiversity(in, users, lists, func(i string) []string { return genres[i] }, 1)
	// Popularity: a 4/4, b..e 1/4. Head: ceil(0.2·5) = 1 item, a.
	// Exposure a 3, b 2, c 1, d 0, e 0: sorted 0,0,1,2,3, total 6:
	// (−4·0 −2·0 +0·1 +2·2 +4·3) / (5·6) = 16/30.
	// ARP: (1+1/4)/2 for the first two lists, the same for the third: 0.625.
	// Tail slots: b, b, c of 6.
	// Personalization over the three lists: J = 1, 1/3, 1/3; 1 − 5/9.
	// Calibration: u1 p = (D ½, C ½), q = (D ½, C ½): 0. u2 p = (D 1), q =
	// (D ½, C ½), q̃(D) = 0.99·½ + 0.01 = 0.505: ln(1/0.505). u3 p = (D 1),
	// q = (D 1): 0. u4 has no list. Mean over three users.
	want := recommender.DiversityStats{Lists: 3, Coverage: 3.0 / 5, Gini: 16.0 / 30, AvgPopularity: 0.625,
		LongTailShare: 3.0 / 6, Personalization: 1 - 5.0/9}
	if st.Lists != want.Lists || !closeTo(st.Coverage, want.Coverage) || !closeTo(st.Gini, want.Gini) ||
		!closeTo(st.AvgPopularity, want.AvgPopularity) || !closeTo(st.LongTailShare, want.LongTailShare) ||
		!closeTo(st.Personalization, want.Personalization) {
		t.Errorf("got %+v\nwant %+v", st, want)
	}
	if wantKL := math.Log(1/0.505) / 3; st.Calibration == nil || !closeTo(*st.Calibration, wantKL) {
		t.Errorf("calibration %v, want %v", st.Calibration, wantKL)
	}
	if st := recommender.ListDiversity(in, users, lists, nil, 1); st.Calibration != nil {
		t.Errorf("calibration %v without genres, want none", *st.Calibration)
	}
}
