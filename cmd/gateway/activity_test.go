package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/anomaly"
)

func TestActivityHandler(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cases := []struct {
		name   string
		line   string
		ts     time.Time // the record's timestamp
		user   string
		active bool // at now + 20 minutes (TTL 30)
	}{
		{"watch", "2026-01-02T11:59:00,42,GET /data/m/the+matrix+1999/3.mpg", now.Add(-time.Minute), "42", true},
		{"rate", "2026-01-02T11:59:00,43,GET /rate/the+matrix+1999=4", now, "43", true},
		{"create account", "2026-01-02T11:59:00,44,GET /create_account", now, "44", true},
		{"taken in 20 minutes ago: gone by then", "2026-01-02T11:40:00,45,GET /create_account", now.Add(-20 * time.Minute), "45", false},
		{"a future record time counts as now", "2026-01-02T11:59:00,46,GET /create_account", now.Add(24 * time.Hour), "46", true},
		{"recommendation lines are no activity",
			"2026-01-02T11:59:00,47,recommendation request srv, status 200, result: a+1, 12 ms", now, "47", false},
		{"garbage is skipped", "not a line", now, "not a line", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			act := anomaly.NewActivity(anomaly.ActivityConfig{TTL: 30 * time.Minute})
			h := activityHandler(act, clock)
			if err := h(context.Background(), &kgo.Record{Value: []byte(tc.line), Timestamp: tc.ts}); err != nil {
				t.Fatalf("handler: %v (a bad record must not be retried)", err)
			}
			later := now.Add(20 * time.Minute)
			if got := act.Active(tc.user, later); got != tc.active {
				t.Errorf("Active(%s) 20 minutes on = %v, want %v", tc.user, got, tc.active)
			}
			if act.Active(tc.user, now.Add(31*time.Minute)) {
				t.Errorf("Active(%s) past the TTL from now (a record time after now was believed)", tc.user)
			}
		})
	}
}
