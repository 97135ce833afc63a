package recommender_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// synthReport builds a report on small synthetic MovieLens-shaped data.
func synthReport(t testing.TB, train func(in []recommender.Interaction) (*recommender.Model, error)) *recommender.Report {
	t.Helper()
	s := recommender.NewSynth(recommender.GenConfig{Users: 200, Movies: 150, Events: 6000, Seed: 3})
	var in []recommender.Interaction
	users, items := map[string]recommender.UserInfo{}, map[string]recommender.ItemInfo{}
	for u := range 200 {
		in = s.AppendRatings(in, u)
		info := s.User(u)
		users[info.ID] = info
	}
	for i := range 150 {
		it := s.Item(i)
		it.ID = strconv.Itoa(i + 1) // u.item numbers movies from 1, as AppendRatings does
		items[it.ID] = it
	}
	m, err := train(in)
	if err != nil {
		t.Fatal(err)
	}
	r, err := recommender.BuildReport(in, m, recommender.ReportConfig{Seed: 1, Resamples: 200, Users: users, Items: items,
		MinGroupUsers: 5,
		Retrain:       func(_ recommender.Kind, tr []recommender.Interaction) (*recommender.Model, error) { return train(tr) }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBuildReportALS(t *testing.T) {
	r := synthReport(t, func(in []recommender.Interaction) (*recommender.Model, error) {
		return recommender.TrainALS(in, "als-test", recommender.ALSConfig{Factors: 8, Iterations: 4, Seed: 1})
	})
	if r.Demographics == nil || len(r.Demographics.Gender) < 2 || len(r.Genres) == 0 || r.Quality == nil {
		t.Fatalf("report lacks sections: %+v", r)
	}
	var base, data float64
	for _, g := range r.Demographics.Gender {
		base += g.BaseShare
		data += g.InteractionShare
	}
	if !closeTo(base, 1) || !closeTo(data, 1) {
		t.Errorf("gender shares sum to %v and %v, want 1", base, data)
	}
	if len(r.Curve) != 4 || r.Curve[3].Loss >= r.Curve[0].Loss {
		t.Errorf("curve %+v: want 4 iterations, loss falling", r.Curve)
	}
	if last := r.Curve[3].NDCG; !closeTo(last, r.Quality.NDCG.Mean) {
		t.Errorf("curve ends at nDCG %v, quality says %v: the same model", last, r.Quality.NDCG.Mean)
	}
	q := r.Quality
	if q.NDCG.Mean <= 0 || q.NDCG.Low > q.NDCG.Mean || q.NDCG.High < q.NDCG.Mean || q.GenderGap == nil {
		t.Errorf("quality %+v: want a positive nDCG inside its interval and a gender gap", q)
	}
	d := r.Diversity
	if d.Lists < 190 || d.Coverage <= 0 || d.Coverage > 1 || d.Gini <= 0 || d.Gini >= 1 || d.Calibration == nil ||
		d.Personalization <= 0 || d.Personalization > 1 {
		t.Errorf("diversity %+v out of range", d)
	}
	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{`id="demographics"`, `id="genres"`, `id="quality"`, `id="diversity"`, `id="curves"`, `id="lineage"`, "<svg"} {
		if !strings.Contains(html.String(), id) {
			t.Errorf("HTML lacks %s", id)
		}
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

// The same seed gives the same report.
func TestBuildReportDeterministic(t *testing.T) {
	pop := func(in []recommender.Interaction) (*recommender.Model, error) {
		return recommender.TrainPopularity(in, "pop"), nil
	}
	ra, rb := synthReport(t, pop), synthReport(t, pop)
	rb.Model.Meta.TrainedAt = ra.Model.Meta.TrainedAt // trained twice
	a, _ := json.Marshal(ra)
	b, _ := json.Marshal(rb)
	if !bytes.Equal(a, b) {
		t.Errorf("two reports with the same seed differ:\n%s\n%s", a, b)
	}
}

// BenchmarkBuildReport100K reports on MovieLens-100k-sized synthetic data
// (1000 users, 1682 movies, 100k ratings) with a default ALS model: the
// training curve (15 iterations), 1000 bootstrap resamples per group and
// every user's list.
//
//	go test -run XXX -bench BuildReport100K -benchtime 3x ./recommender/
func BenchmarkBuildReport100K(b *testing.B) {
	s := recommender.NewSynth(recommender.GenConfig{Seed: 1})
	var in []recommender.Interaction
	users, items := map[string]recommender.UserInfo{}, map[string]recommender.ItemInfo{}
	for u := range s.Config().Users {
		in = s.AppendRatings(in, u)
		users[s.User(u).ID] = s.User(u)
	}
	for i := range s.Config().Movies {
		it := s.Item(i)
		it.ID = strconv.Itoa(i + 1)
		items[it.ID] = it
	}
	m, err := recommender.TrainALS(in, "bench", recommender.ALSConfig{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cfg := recommender.ReportConfig{Seed: 1, Users: users, Items: items}
	b.ResetTimer()
	for range b.N {
		if _, err := recommender.BuildReport(in, m, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// A report without a trainer, or whose retrain fails, keeps its other
// sections and says what it left out.
func TestBuildReportWithoutRetrain(t *testing.T) {
	in := []recommender.Interaction{{User: "1", Item: "a"}, {User: "1", Item: "b"}, {User: "2", Item: "a"}, {User: "2", Item: "c"}}
	m := recommender.TrainPopularity(in, "pop")
	for name, retrain := range map[string]func(recommender.Kind, []recommender.Interaction) (*recommender.Model, error){
		"no trainer": nil,
		"failed": func(recommender.Kind, []recommender.Interaction) (*recommender.Model, error) {
			return nil, errors.New("boom")
		},
	} {
		r, err := recommender.BuildReport(in, m, recommender.ReportConfig{Retrain: retrain})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		notes := strings.Join(r.Notes, "\n")
		if r.Quality != nil || !strings.Contains(notes, "held-out quality left out") || !strings.Contains(notes, "no user file") ||
			r.Diversity.Lists != 2 {
			t.Errorf("%s: quality %+v, lists %d, notes %q", name, r.Quality, r.Diversity.Lists, notes)
		}
	}
}
