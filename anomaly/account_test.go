package anomaly

import (
	"fmt"
	"testing"
	"time"
)

func TestPoisoningNewAccounts(t *testing.T) {
	cases := []struct {
		name    string
		created bool          // the create_account was seen
		age     time.Duration // account age at its first rating
		watches bool          // it watched each movie before rating it
		firstAt int           // 1-based first suspicious rating; 0: none
	}{
		{"new account rating unwatched movies", true, time.Minute, false, 5},
		{"new account rating what it watched", true, time.Minute, true, 0},
		{"old account (creation unseen)", false, time.Minute, false, 0},
		{"account older than a day", true, 25 * time.Hour, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPoisoning(t)
			if tc.created {
				p.ObserveAccount(Account{Time: t0, User: "new"})
			}
			first, alerts := 0, 0
			for i := range 8 {
				at := t0.Add(tc.age + time.Duration(i)*10*time.Minute)
				movie := fmt.Sprint("movie+", i)
				if tc.watches {
					p.ObserveWatch(Watch{Time: at.Add(-time.Minute), User: "new", Movie: movie})
				}
				v := p.Observe(Rating{Time: at, User: "new", Movie: movie, Rating: 2 + i%3})
				if v.Suspicious && first == 0 {
					first = i + 1
					if v.Reason != "rating_without_watching" {
						t.Errorf("reason %q", v.Reason)
					}
				}
				if v.Alert != nil {
					alerts++
				}
			}
			if first != tc.firstAt || alerts != min(tc.firstAt, 1) {
				t.Errorf("first suspicious at %d with %d alerts; want %d with one alert", first, alerts, tc.firstAt)
			}
		})
	}
}

// Once flagged, a profile's later ratings stay out of training, even
// ordinary-looking ones, until FlagTTL after the flag.
func TestPoisoningFlaggedProfileStaysFlagged(t *testing.T) {
	p := newTestPoisoning(t)
	var at time.Time
	for i := range 15 {
		at = t0.Add(time.Duration(i) * time.Minute)
		p.Observe(Rating{Time: at, User: "pusher", Movie: fmt.Sprint("m", i), Rating: 5})
	}
	later := p.Observe(Rating{Time: at.Add(time.Hour), User: "pusher", Movie: "other", Rating: 3})
	if !later.Suspicious || later.Reason != "flagged_profile" || later.Alert != nil {
		t.Errorf("a rating an hour after the flag: %+v, want suspicious flagged_profile without a new alert", later)
	}
	if v := p.Observe(Rating{Time: at.Add(25 * time.Hour), User: "pusher", Movie: "again", Rating: 3}); v.Suspicious {
		t.Errorf("a rating past FlagTTL: %+v, want not suspicious", v)
	}
	if v := p.Observe(Rating{Time: at.Add(time.Hour), User: "someone", Movie: "other", Rating: 3}); v.Suspicious {
		t.Errorf("another user: %+v", v)
	}
}

// Watches of accounts whose creation was not seen are not kept.
func TestPoisoningWatchesOfOldAccountsNotKept(t *testing.T) {
	p := newTestPoisoning(t)
	for i := range 1000 {
		p.ObserveWatch(Watch{Time: t0, User: fmt.Sprint(i), Movie: "m"})
	}
	if len(p.users) != 0 {
		t.Errorf("%d users kept for watches alone", len(p.users))
	}
}
