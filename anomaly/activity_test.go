package anomaly

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestActivityTTL(t *testing.T) {
	a := NewActivity(ActivityConfig{TTL: 30 * time.Minute})
	a.Observe("7", t0, t0)
	a.Observe("8", t0, t0)
	a.Observe("8", t0.Add(20*time.Minute), t0.Add(20*time.Minute)) // watched again
	cases := []struct {
		user  string
		at    time.Duration
		wantA bool
	}{
		{"7", 0, true},
		{"7", 29*time.Minute + 59*time.Second, true},
		{"7", 30 * time.Minute, false},
		{"8", 49 * time.Minute, true},
		{"8", 50 * time.Minute, false},
		{"9", 0, false},
	}
	for _, tc := range cases {
		if got := a.Active(tc.user, t0.Add(tc.at)); got != tc.wantA {
			t.Errorf("Active(%s, t0+%v) = %v, want %v", tc.user, tc.at, got, tc.wantA)
		}
	}
	if a.Len() != 2 {
		t.Errorf("Len %d, want 2", a.Len())
	}
	// Expiry is lazy: an event in each user's shard past the TTL drops them.
	later := t0.Add(time.Hour)
	for i := range 400 {
		a.Observe(fmt.Sprint("late", i), later, later)
	}
	if a.Active("8", later) || a.Len() != 400 {
		t.Errorf("after the TTL: Active(8) %v, Len %d, want false, 400", a.Active("8", later), a.Len())
	}
}

func TestActivityIgnoresOldEvents(t *testing.T) {
	a := NewActivity(ActivityConfig{TTL: 30 * time.Minute})
	now := t0.Add(time.Hour)
	a.Observe("7", t0, now) // an hour old on arrival: history, not activity
	if a.Active("7", now) || a.Len() != 0 {
		t.Errorf("an event older than the TTL made its user active")
	}
	a.Observe("8", now.Add(-time.Minute), now)
	if !a.Active("8", now) {
		t.Errorf("a minute-old event did not")
	}
}

func TestActivityCapEvictsOldest(t *testing.T) {
	const limit = 64
	a := NewActivity(ActivityConfig{Cap: limit})
	for i := range 2000 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		a.Observe(fmt.Sprint("u", i), at, at)
		if i%10 == 0 {
			a.Observe("keep", at, at) // watching all along
		}
	}
	end := t0.Add(2 * time.Second)
	if a.Len() > limit {
		t.Errorf("Len %d over the cap %d", a.Len(), limit)
	}
	if a.Active("u0", end) || a.Active("u1", end) {
		t.Errorf("the least recently active users were kept")
	}
	if !a.Active("u1999", end) || !a.Active("keep", end) {
		t.Errorf("recently active users were evicted: u1999 %v, keep %v", a.Active("u1999", end), a.Active("keep", end))
	}
}

func TestActivityReady(t *testing.T) {
	cfg := ActivityConfig{TTL: 30 * time.Minute, WarmUp: 10 * time.Minute, Stale: 5 * time.Minute}
	cases := []struct {
		name   string
		events []time.Duration // event times from t0, each observed at its time
		now    time.Duration
		want   bool
	}{
		{"empty", nil, time.Hour, false},
		{"warming up", []time.Duration{0, 9 * time.Minute}, 9 * time.Minute, false},
		{"warmed up", []time.Duration{0, 10 * time.Minute}, 10 * time.Minute, true},
		{"stream stalled", []time.Duration{0, 10 * time.Minute}, 15 * time.Minute, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := NewActivity(cfg)
			for i, d := range tc.events {
				a.Observe(fmt.Sprint(i), t0.Add(d), t0.Add(d))
			}
			if got := a.Ready(t0.Add(tc.now)); got != tc.want {
				t.Errorf("Ready %v, want %v", got, tc.want)
			}
		})
	}
	// History older than the TTL (a consumer reading from the start of
	// the topic) counts toward the warm-up.
	a := NewActivity(cfg)
	now := t0.Add(time.Hour)
	a.Observe("old", t0, now)
	a.Observe("new", now, now)
	if !a.Ready(now) {
		t.Errorf("an hour of history did not warm the set up")
	}
}

func TestActivityConcurrent(t *testing.T) {
	a := NewActivity(ActivityConfig{Cap: 1000})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				at := t0.Add(time.Duration(i) * time.Millisecond)
				a.Observe(fmt.Sprint(w, "-", i), at, at)
				a.Active(fmt.Sprint(w, "-", i/2), at)
			}
		})
	}
	wg.Wait()
	if a.Len() > 1000 || a.Len() < 900 {
		t.Errorf("Len %d after 8,000 users with cap 1,000", a.Len())
	}
}
