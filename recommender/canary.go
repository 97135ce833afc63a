package recommender

import (
	"errors"
	"fmt"
	"math"
)

// CanaryRule says when a canary may be promoted on its online figures (an
// OnlineMonitor's VersionStats of the canary and of the main model). The
// zero value works; each field's comment gives its default.
//
// The test is one of non-inferiority, the safe side: the canary must be
// shown, at the one-sided confidence Z stands for, to convert no more than
// Margin (absolute) below the main model. With too few settled answers it
// cannot be shown, and the canary waits. Availability must not be lower
// than main's by more than AvailabilityMargin.
type CanaryRule struct {
	// MinSettled settled answers per arm before any verdict; default 500.
	MinSettled int
	// Margin is how much lower (absolute share) the canary's quality may
	// be; default 0.02.
	Margin float64
	// Z is the one-sided normal quantile; default 1.645 (95%).
	Z float64
	// AvailabilityMargin is how much lower its availability may be;
	// default 0.005.
	AvailabilityMargin float64
}

// Canary rule defaults.
const (
	DefaultCanaryMinSettled   = 500
	DefaultCanaryMargin       = 0.02
	DefaultCanaryZ            = 1.645
	DefaultCanaryAvailability = 0.005
)

// Canary verdict errors.
var (
	// ErrCanaryUndecided: too few settled answers on one arm; wait.
	ErrCanaryUndecided = errors.New("canary: not enough online data")
	// ErrCanaryWorse: the canary is (or may be) worse online than main.
	ErrCanaryWorse = errors.New("canary: worse online than the main model")
)

// CanaryVerdict explains CheckCanary's answer.
type CanaryVerdict struct {
	Promote bool
	// Reason is "ok", "insufficient_data", "quality" or "availability".
	Reason string
	// Diff is canary quality minus main quality; LowerBound is Diff - Z*SE,
	// the bound that must be at least -Margin.
	Diff, LowerBound float64
}

func (r CanaryRule) withDefaults() CanaryRule {
	if r.MinSettled <= 0 {
		r.MinSettled = DefaultCanaryMinSettled
	}
	if r.Margin <= 0 {
		r.Margin = DefaultCanaryMargin
	}
	if r.Z <= 0 {
		r.Z = DefaultCanaryZ
	}
	if r.AvailabilityMargin <= 0 {
		r.AvailabilityMargin = DefaultCanaryAvailability
	}
	return r
}

// CheckCanary decides whether canary may replace main on their online
// figures: nil when it may, else an error wrapping ErrCanaryUndecided or
// ErrCanaryWorse. The verdict carries the numbers either way.
func CheckCanary(main, canary VersionStats, rule CanaryRule) (CanaryVerdict, error) {
	rule = rule.withDefaults()
	v := CanaryVerdict{Diff: canary.Quality - main.Quality}
	if main.Settled < rule.MinSettled || canary.Settled < rule.MinSettled {
		v.Reason, v.LowerBound = "insufficient_data", math.Inf(-1)
		return v, fmt.Errorf("%w: %d settled answers on main, %d on the canary, %d needed",
			ErrCanaryUndecided, main.Settled, canary.Settled, rule.MinSettled)
	}
	se := math.Sqrt(variance(main.Quality, main.Settled) + variance(canary.Quality, canary.Settled))
	v.LowerBound = v.Diff - rule.Z*se
	if v.LowerBound < -rule.Margin {
		v.Reason = "quality"
		return v, fmt.Errorf("%w: quality %.4f against %.4f (lower bound of the difference %.4f, margin %.4f)",
			ErrCanaryWorse, canary.Quality, main.Quality, v.LowerBound, rule.Margin)
	}
	if canary.Availability < main.Availability-rule.AvailabilityMargin {
		v.Reason = "availability"
		return v, fmt.Errorf("%w: availability %.4f against %.4f", ErrCanaryWorse, canary.Availability, main.Availability)
	}
	v.Promote, v.Reason = true, "ok"
	return v, nil
}

// variance of a share p measured on n trials.
func variance(p float64, n int) float64 { return p * (1 - p) / float64(n) }
