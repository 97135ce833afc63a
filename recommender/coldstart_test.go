package recommender_test

import (
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// coldSynth draws synthetic users whose demographics predict their taste and
// holds every rating of about a fifth of them out: those are cold users the
// user file knows. It returns the training ratings, everyone's demographics
// and the cold users' items.
func coldSynth(tb testing.TB) (train []recommender.Interaction, users map[string]recommender.UserInfo, cold map[string]map[string]bool) {
	tb.Helper()
	s := recommender.NewSynth(recommender.GenConfig{Users: 600, Events: 36000, Seed: 3})
	users, cold = map[string]recommender.UserInfo{}, map[string]map[string]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	for u := range s.Config().Users {
		info := s.User(u)
		users[info.ID] = info
		ratings := s.AppendRatings(nil, u)
		if rng.Float64() >= 0.2 {
			train = append(train, ratings...)
			continue
		}
		cold[info.ID] = map[string]bool{}
		for _, x := range ratings {
			cold[info.ID][x.Item] = true
		}
	}
	return train, users, cold
}

// precisionAt10 is the mean share of each cold user's top 10 they rated.
func precisionAt10(m *recommender.Model, cold map[string]map[string]bool) float64 {
	var hits float64
	for user, rated := range cold {
		for _, s := range m.Recommend(user, 10, true) {
			if rated[s.Item] {
				hits++
			}
		}
	}
	return hits / float64(10*len(cold))
}

// TestColdStartDemographicGroups: cold users get their group's list, which
// differs from the global one and predicts what they watch better.
func TestColdStartDemographicGroups(t *testing.T) {
	train, users, cold := coldSynth(t)
	global := recommender.TrainPopularity(train, "pop-1")
	m := recommender.TrainPopularityWith(train, "pop-1", recommender.PopularityConfig{Users: users})
	differ := 0
	for user := range cold {
		group, ok := m.ColdStartGroup(user)
		if !ok || group == "" {
			t.Fatalf("cold user %s has no group", user)
		}
		if !reflect.DeepEqual(items(m.Recommend(user, 10, true)), items(global.Recommend(user, 10, true))) {
			differ++
		}
	}
	for user := range users {
		if _, ok := m.ColdStartGroup(user); ok == m.Knows(user) {
			t.Fatalf("user %s: known %v, group %v; want exactly one", user, m.Knows(user), ok)
		}
	}
	if _, ok := m.ColdStartGroup("nobody"); ok {
		t.Fatal("a user without demographics has a group")
	}
	pg, pm := precisionAt10(global, cold), precisionAt10(m, cold)
	t.Logf("%d cold users, %d with a list unlike the global one; precision@10 global %.3f, groups %.3f", len(cold), differ, pg, pm)
	if differ < len(cold)/2 || pm < pg+0.02 {
		t.Fatalf("group lists: %d of %d differ from the global list, precision@10 %.3f vs global %.3f; want most differing and +0.02",
			differ, len(cold), pm, pg)
	}
	longList(t, m, slices.Sorted(maps.Keys(cold))[:3])
}

// longList: past its group's list a cold user's answer goes on with the
// global list, without repeats, best first.
func longList(tb testing.TB, m *recommender.Model, users []string) {
	tb.Helper()
	for _, user := range users {
		got := m.Recommend(user, 300, false)
		if len(got) != 300 {
			tb.Fatalf("k 300: %d items", len(got))
		}
		ids := map[string]bool{}
		for i, s := range got {
			if ids[s.Item] || (i > 0 && s.Score > got[i-1].Score) {
				tb.Fatalf("item %d %v repeated or out of order", i, s)
			}
			ids[s.Item] = true
		}
		if first := m.Recommend(user, 100, false); !reflect.DeepEqual(first, got[:100]) {
			tb.Fatalf("the first 100 of 300 are not the top 100")
		}
	}
}

// plantedDemographics gives plantedData's users (ids 1..200, group (id-1)%8)
// demographics that name their group, and adds ten cold users, two of them
// in each of groups 0..4.
func plantedDemographics() map[string]recommender.UserInfo {
	info := func(id string, g int) recommender.UserInfo {
		return recommender.UserInfo{ID: id, Age: 15 + 8*(g%4), Gender: "MF"[g/4 : g/4+1], Occupation: "job" + strconv.Itoa(g)}
	}
	users := map[string]recommender.UserInfo{}
	for u := range 200 {
		id := strconv.Itoa(u + 1)
		users[id] = info(id, u%8)
	}
	for c := range 10 {
		id := strconv.Itoa(1001 + c)
		users[id] = info(id, c/2)
	}
	return users
}

// TestColdStartSaveLoad: the candidate rule and the demographic lists
// survive a signed save and load, for every kind.
func TestColdStartSaveLoad(t *testing.T) {
	train, _ := plantedData(t, 6)
	pop := recommender.PopularityConfig{MinSupport: medianSupport(supportOf(train)), Users: plantedDemographics()}
	_, pub := testKey(t)
	users := []string{"1", "2", "77", "1001", "1004", "1010", "unknown"}
	for kind, m := range kindsWith(t, train, pop) {
		t.Run(kind, func(t *testing.T) {
			got, err := recommender.LoadVerified(saveSigned(t, m), pub)
			if err != nil {
				t.Fatal(err)
			}
			sameAnswers(t, m, got, users)
			if got.MinSupport() != pop.MinSupport {
				t.Errorf("MinSupport() = %d after load, want %d", got.MinSupport(), pop.MinSupport)
			}
			for _, user := range users {
				g1, ok1 := m.ColdStartGroup(user)
				g2, ok2 := got.ColdStartGroup(user)
				if g1 != g2 || ok1 != ok2 {
					t.Errorf("ColdStartGroup(%s) = %q %v after load, %q %v before", user, g2, ok2, g1, ok1)
				}
			}
			// Cold users of group 2 (items m040..m059) get mostly that group's items.
			inGroup := 0
			for _, s := range got.Recommend("1005", 10, true) {
				if s.Item >= "m040" && s.Item < "m060" {
					inGroup++
				}
			}
			if inGroup < 6 {
				t.Errorf("cold user of group 2 got %d of its group's items in 10: %v", inGroup, items(got.Recommend("1005", 10, true)))
			}
		})
	}
}
