package recommender_test

import (
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func TestBootstrapCI(t *testing.T) {
	if lo, hi := recommender.BootstrapCI([]float64{0.3, 0.3, 0.3}, 200, 1); lo != 0.3 || hi != 0.3 {
		t.Errorf("constant values: [%v, %v], want [0.3, 0.3]", lo, hi)
	}
	if lo, hi := recommender.BootstrapCI(nil, 200, 1); lo != 0 || hi != 0 {
		t.Errorf("no values: [%v, %v], want [0, 0]", lo, hi)
	}
	vals := make([]float64, 100)
	for i := range vals {
		vals[i] = float64(i % 2) // mean 0.5, standard error 0.05
	}
	lo, hi := recommender.BootstrapCI(vals, 1000, 7)
	lo2, hi2 := recommender.BootstrapCI(vals, 1000, 7)
	if lo != lo2 || hi != hi2 {
		t.Errorf("same seed gave [%v, %v] then [%v, %v]", lo, hi, lo2, hi2)
	}
	// ±1.96 standard errors is about [0.40, 0.60]; resampling noise is small.
	if !(lo > 0.35 && lo < 0.45 && hi > 0.55 && hi < 0.65) {
		t.Errorf("interval [%v, %v], want about [0.40, 0.60]", lo, hi)
	}
}

func TestGroupScoresAndGap(t *testing.T) {
	users := []string{"1", "2", "3", "4", "5"}
	scores := []float64{1, 0.5, 0, 0.2, 0.9}
	info := map[string]recommender.UserInfo{
		"1": {Gender: "F", Age: 30}, "2": {Gender: "F", Age: 30}, "3": {Gender: "M", Age: 60}, "4": {Gender: "M", Age: 17},
	}
	groups := recommender.GroupScores(users, scores, recommender.GenderOf(info), 100, 1)
	want := []recommender.GroupQuality{{Group: "F", Users: 2, Mean: 0.75}, {Group: "M", Users: 2, Mean: 0.1},
		{Group: recommender.UnknownGroup, Users: 1, Mean: 0.9}}
	if len(groups) != len(want) {
		t.Fatalf("groups %+v, want %+v", groups, want)
	}
	for i, g := range groups {
		if g.Group != want[i].Group || g.Users != want[i].Users || !closeTo(g.Mean, want[i].Mean) || g.Low > g.Mean || g.High < g.Mean {
			t.Errorf("group %d: %+v, want %+v with the mean inside its interval", i, g, want[i])
		}
	}
	if gap, ok := recommender.QualityGap(groups, 2); !ok || !closeTo(gap, 0.65) {
		t.Errorf("gap %v %v, want 0.65 (unknown users do not count)", gap, ok)
	}
	if _, ok := recommender.QualityGap(groups, 3); ok {
		t.Error("gap with groups under the minimum size")
	}
	ages := recommender.GroupScores(users, scores, recommender.AgeBandOf(info), 100, 1)
	names := map[string]bool{}
	for _, g := range ages {
		names[g.Group] = true
	}
	for _, band := range []string{"25-34", "56+", "under 18", recommender.UnknownGroup} {
		if !names[band] {
			t.Errorf("age groups %+v lack %q", ages, band)
		}
	}
}

func TestTitleSlug(t *testing.T) {
	for title, want := range map[string]string{
		"Shawshank Redemption, The (1994)": "the+shawshank+redemption+1994",
		"Toy Story (1995)":                 "toy+story+1995",
		"The Silent River (1994)":          "the+silent+river+1994",
		"Seven (Se7en) (1995)":             "seven+se7en+1995",
		"!!!":                              "",
	} {
		if got := recommender.TitleSlug(title); got != want {
			t.Errorf("TitleSlug(%q) = %q, want %q", title, got, want)
		}
	}
	idx := recommender.NewGenreIndex(map[string]recommender.ItemInfo{
		"318": {ID: "318", Title: "Shawshank Redemption, The (1994)", Genres: []string{"Drama"}},
	})
	for _, id := range []string{"318", "the+shawshank+redemption+1994"} {
		if g := idx.Genres(id); len(g) != 1 || g[0] != "Drama" || !idx.Known(id) {
			t.Errorf("Genres(%q) = %v, want [Drama]", id, g)
		}
	}
	if idx.Known("heat+1995") {
		t.Error("an unlisted movie is known")
	}
}
