package recommender_test

import (
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// kindsWith trains every kind on train with pop as its popularity config.
func kindsWith(tb testing.TB, train []recommender.Interaction, pop recommender.PopularityConfig) map[string]*recommender.Model {
	tb.Helper()
	als := smallALSConfig()
	als.Popularity = pop
	a, err := recommender.TrainALS(train, "als-1", als)
	if err != nil {
		tb.Fatal(err)
	}
	e, err := recommender.TrainEASE(train, "ease-1", recommender.EASEConfig{Lambda: 20, Popularity: pop})
	if err != nil {
		tb.Fatal(err)
	}
	k, err := recommender.TrainItemKNN(train, "knn-1", recommender.KNNConfig{Neighbors: 40, Popularity: pop})
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]*recommender.Model{
		"popularity": recommender.TrainPopularityWith(train, "pop-1", pop),
		"als":        a, "ease": e, "itemknn": k,
	}
}

// supportOf counts each item's distinct users.
func supportOf(train []recommender.Interaction) map[string]int {
	users := map[string]map[string]bool{}
	for _, x := range train {
		if users[x.Item] == nil {
			users[x.Item] = map[string]bool{}
		}
		users[x.Item][x.User] = true
	}
	out := map[string]int{}
	for item, u := range users {
		out[item] = len(u)
	}
	return out
}

// medianSupport is a threshold that leaves out about half the items.
func medianSupport(support map[string]int) int {
	var all []int
	for _, n := range support {
		all = append(all, n)
	}
	slices.Sort(all)
	return all[len(all)/2]
}

// TestMinSupportEveryKind: with MinSupport, each kind answers exactly what
// it would without, minus the items too few users touched, still k long
// while enough candidates are left; and the filter must change some answers.
func TestMinSupportEveryKind(t *testing.T) {
	train, _ := plantedData(t, 4)
	support := supportOf(train)
	threshold := medianSupport(support)
	plain := kindsWith(t, train, recommender.PopularityConfig{})
	filtered := kindsWith(t, train, recommender.PopularityConfig{MinSupport: threshold})
	users := []string{"unknown"}
	for u := 1; u <= 200; u += 7 {
		users = append(users, strconv.Itoa(u))
	}
	for kind, m := range filtered {
		t.Run(kind, func(t *testing.T) {
			if m.MinSupport() != threshold || m.Meta().Items != len(support) {
				t.Fatalf("MinSupport() = %d, items %d; want %d, %d", m.MinSupport(), m.Meta().Items, threshold, len(support))
			}
			changed := 0
			for _, user := range users {
				var want []recommender.Scored // the unfiltered ranking of every item, candidates only
				for _, s := range plain[kind].Recommend(user, len(support), true) {
					if support[s.Item] >= threshold {
						want = append(want, s)
					}
				}
				for _, k := range []int{1, 10, 40, len(support)} {
					got := m.Recommend(user, k, true)
					if w := want[:min(k, len(want))]; !reflect.DeepEqual(got, w) {
						t.Fatalf("user %s k %d: got %v, want %v", user, k, items(got), items(w))
					}
					if !reflect.DeepEqual(got, plain[kind].Recommend(user, k, true)) {
						changed++
					}
				}
			}
			if changed == 0 {
				t.Fatalf("min support %d changed no answer: the test checks nothing", threshold)
			}
			t.Logf("min support %d: %d of %d answers changed", threshold, changed, 4*len(users))
		})
	}
}
