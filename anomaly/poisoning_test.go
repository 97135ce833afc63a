package anomaly

import (
	"fmt"
	"testing"
	"time"
)

func newTestPoisoning(tb testing.TB) *Poisoning {
	tb.Helper()
	p, err := NewPoisoning(PoisoningConfig{})
	mustNoErr(tb, err)
	return p
}

func TestPoisoningNormalRatersPass(t *testing.T) {
	p := newTestPoisoning(t)
	// 300 users each rating 12 movies over an hour with varied scores; a
	// popular movie gets 60% fives from 100 of them.
	for u := range 300 {
		for i := range 12 {
			movie := fmt.Sprint("m", (u*7+i)%500)
			rating := 1 + (u+i)%5
			if i == 0 && u < 100 {
				movie, rating = "the+shawshank+redemption+1994", 5-(u%5)/3
			}
			v := p.Observe(Rating{Time: t0.Add(time.Duration(i)*5*time.Minute + time.Duration(u)*time.Second),
				User: fmt.Sprint(u), Movie: movie, Rating: rating})
			if v.Suspicious || v.Alert != nil {
				t.Fatalf("user %d rating %d: false alarm %+v", u, i, v)
			}
		}
	}
}

func TestPoisoningRules(t *testing.T) {
	cases := []struct {
		name      string
		n         int
		gap       time.Duration
		users     bool // a new user per rating (else one user)
		sameMovie bool
		rating    func(i int) int
		firstAt   int // 1-based index of the first suspicious rating; 0: none
		reason    string
	}{
		{"burst", 30, time.Second, false, false, func(i int) int { return 1 + i%5 }, 21, "rating_burst"},
		{"extreme fives", 20, time.Minute, false, false, func(int) int { return 5 }, 15, "extreme_only"},
		{"extreme ones", 20, time.Minute, false, false, func(int) int { return 1 }, 15, "extreme_only"},
		{"fours are not extreme", 20, time.Minute, false, false, func(int) int { return 4 }, 0, ""},
		{"one middle rating breaks the run", 15, 2 * time.Minute, false, false, func(i int) int { return map[bool]int{true: 3, false: 5}[i == 7] }, 0, ""},
		{"coordinated nuke", 40, 10 * time.Second, true, true, func(int) int { return 1 }, 25, "coordinated"},
		{"many users, mixed", 40, 10 * time.Second, true, true, func(i int) int { return 1 + i%5 }, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPoisoning(t)
			first, alerts := 0, 0
			for i := range tc.n {
				user, movie := "u1", fmt.Sprint("m", i)
				if tc.users {
					user = fmt.Sprint("u", i)
				}
				if tc.sameMovie {
					movie = "target"
				}
				v := p.Observe(Rating{Time: t0.Add(time.Duration(i) * tc.gap), User: user, Movie: movie, Rating: tc.rating(i)})
				if v.Suspicious && first == 0 {
					first = i + 1
					if v.Reason != tc.reason {
						t.Errorf("reason %q, want %q", v.Reason, tc.reason)
					}
				}
				if v.Alert != nil {
					alerts++
					if v.Alert.Kind != KindPoisoning || v.Alert.Action != ActionNone || v.Alert.Evidence["reason"] != tc.reason {
						t.Errorf("alert %+v", v.Alert)
					}
				}
			}
			if first != tc.firstAt || alerts != min(tc.firstAt, 1) {
				t.Errorf("first suspicious at %d with %d alerts; want %d with one alert", first, alerts, tc.firstAt)
			}
		})
	}
}

func TestPoisoningRepeatRatingsAreOneVoice(t *testing.T) {
	p := newTestPoisoning(t)
	for i := range 40 { // five users re-rating the same movie 1 over and over
		v := p.Observe(Rating{Time: t0.Add(time.Duration(i) * 14 * time.Second), User: fmt.Sprint("u", i%5), Movie: "target", Rating: 1})
		if v.Reason == "coordinated" {
			t.Fatalf("rating %d: five users counted as a campaign", i+1)
		}
	}
}

func TestPoisoningOutOfRangeAndConfig(t *testing.T) {
	p := newTestPoisoning(t)
	if v := p.Observe(Rating{Time: t0, User: "u", Movie: "m", Rating: 9}); !v.Suspicious || v.Reason != "rating_out_of_range" {
		t.Errorf("rating 9: %+v", v)
	}
	for _, c := range []PoisoningConfig{{BurstMax: 1000}, {CoordMin: 500}, {MinRating: 5, MaxRating: 5}, {CoordShare: 2}} {
		if _, err := NewPoisoning(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestPoisoningBounded(t *testing.T) {
	p, err := NewPoisoning(PoisoningConfig{MaxUsers: 100, MaxMovies: 100})
	mustNoErr(t, err)
	for i := range 5000 {
		p.Observe(Rating{Time: t0.Add(time.Duration(i) * time.Second), User: fmt.Sprint(i), Movie: fmt.Sprint(i), Rating: 3})
	}
	if len(p.users) > 100 || len(p.movies) > 100 {
		t.Errorf("%d users, %d movies kept; cap 100", len(p.users), len(p.movies))
	}
}
