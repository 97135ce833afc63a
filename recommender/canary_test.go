package recommender_test

import (
	"errors"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func TestCheckCanary(t *testing.T) {
	stats := func(quality, availability float64, settled int) recommender.VersionStats {
		return recommender.VersionStats{Quality: quality, Availability: availability, Settled: settled}
	}
	tests := []struct {
		name         string
		main, canary recommender.VersionStats
		want         error
		reason       string
		lower        float64
	}{
		// SE = sqrt(.21/5000*2) = .0091652; .0 - 1.645*SE = -.015077 >= -.02.
		{"equal, enough data", stats(.3, .999, 5000), stats(.3, .999, 5000), nil, "ok", -0.0150767},
		// .3 vs .35 on 1000 each: SE = .0209165, lower .05-1.645*SE = .0155924.
		{"canary better", stats(.3, .999, 1000), stats(.35, .999, 1000), nil, "ok", 0.0155924},
		// .29 vs .3 on 1000 each: SE = .0203936, lower -.01-1.645*SE = -.0435475.
		{"slightly lower, too noisy to clear", stats(.3, .999, 1000), stats(.29, .999, 1000), recommender.ErrCanaryWorse, "quality", -0.0435475},
		{"too little data", stats(.3, 1, 499), stats(.3, 1, 5000), recommender.ErrCanaryUndecided, "insufficient_data", 0},
		{"less available", stats(.3, .999, 5000), stats(.3, .99, 5000), recommender.ErrCanaryWorse, "availability", -0.0150767},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := recommender.CheckCanary(tc.main, tc.canary, recommender.CanaryRule{})
			if !errors.Is(err, tc.want) || (err == nil) != v.Promote || v.Reason != tc.reason {
				t.Fatalf("verdict %+v, err %v; want %v, %s", v, err, tc.want, tc.reason)
			}
			if tc.reason != "insufficient_data" && !nearTol(v.LowerBound, tc.lower, 1e-6) {
				t.Errorf("lower bound %.7f, want %.7f", v.LowerBound, tc.lower)
			}
		})
	}
}

func nearTol(a, b, tol float64) bool { return a-b < tol && b-a < tol }
