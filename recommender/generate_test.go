package recommender_test

import (
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

var slugRE = regexp.MustCompile(`^[a-z0-9+]+\+(19|20)[0-9]{2}$`)

func TestGenerateDeterministic(t *testing.T) {
	cfg := recommender.GenConfig{Users: 50, Movies: 40, Events: 2000, Seed: 7}
	a, b := recommender.Generate(cfg), recommender.Generate(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same config and seed gave different events")
	}
	cfg.Seed = 8
	if reflect.DeepEqual(a, recommender.Generate(cfg)) {
		t.Fatal("a different seed gave the same events")
	}
}

func TestGenerateShape(t *testing.T) {
	cfg := recommender.GenConfig{Users: 30, Movies: 25, Events: 3000, Seed: 1}
	evs := recommender.Generate(cfg)
	created := map[string]bool{}
	activity, movies := 0, map[string]bool{}
	last := map[string]time.Time{}
	for i, e := range evs {
		if e.Time.Before(last[e.User]) {
			t.Fatalf("event %d goes back in time for user %s", i, e.User)
		}
		last[e.User] = e.Time
		if u, err := strconv.Atoi(e.User); err != nil || u < 1 || u > cfg.Users {
			t.Fatalf("event %d: bad user %q", i, e.User)
		}
		switch e.Kind {
		case "create_account":
			if created[e.User] {
				t.Fatalf("user %s created twice", e.User)
			}
			created[e.User] = true
			continue
		case "watch":
			if e.Minute < 0 || e.Minute >= 120 {
				t.Fatalf("event %d: minute %d", i, e.Minute)
			}
		case "rate":
			if e.Rating < 1 || e.Rating > 5 {
				t.Fatalf("event %d: rating %d", i, e.Rating)
			}
		default:
			t.Fatalf("event %d: kind %q", i, e.Kind)
		}
		activity++
		if !created[e.User] {
			t.Fatalf("event %d: user %s active before create_account", i, e.User)
		}
		if !slugRE.MatchString(e.Movie) {
			t.Fatalf("event %d: movie %q is not a slug", i, e.Movie)
		}
		movies[e.Movie] = true
	}
	if activity != cfg.Events {
		t.Errorf("%d watch/rate events, want %d", activity, cfg.Events)
	}
	if len(movies) > cfg.Movies {
		t.Errorf("%d distinct movies, want at most %d", len(movies), cfg.Movies)
	}
	if len(created) != cfg.Users {
		t.Errorf("%d accounts, want one per user (%d)", len(created), cfg.Users)
	}
}

// TestGenerateSkewed checks popularity means something: the top movie is
// watched by many more users than the median one.
func TestGenerateSkewed(t *testing.T) {
	evs := recommender.Generate(recommender.GenConfig{Seed: 3})
	var in []recommender.Interaction
	for _, e := range evs {
		if e.Kind != "create_account" {
			in = append(in, recommender.Interaction{User: e.User, Item: e.Movie, Weight: 1, Time: e.Time})
		}
	}
	m := recommender.TrainPopularity(in, "v")
	all := m.Recommend("x", recommender.DefaultGenMovies, false)
	if len(all) < recommender.DefaultGenMovies/3 {
		t.Fatalf("only %d movies used", len(all))
	}
	if top, mid := all[0].Score, all[len(all)/2].Score; top < 5*mid {
		t.Errorf("top score %v vs median %v: popularity is too flat", top, mid)
	}
}

func TestGenerateTinyConfig(t *testing.T) {
	evs := recommender.Generate(recommender.GenConfig{Users: 1, Movies: 1, Events: 5})
	if len(evs) != 6 || evs[0].Kind != "create_account" {
		t.Fatalf("got %+v, want create_account then 5 events", evs)
	}
	for _, e := range evs[1:] {
		if e.User != "1" || e.Movie != evs[1].Movie || !slugRE.MatchString(e.Movie) {
			t.Fatalf("bad event %+v", e)
		}
	}
}
