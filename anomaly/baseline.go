package anomaly

import (
	"fmt"
	"math"
	"time"
)

// EWMA is an exponentially weighted moving mean and variance of a series
// sampled once per bucket (Finch's incremental form: no history kept, no
// allocation). The zero value is an empty baseline.
type EWMA struct {
	mean, variance float64
	n              uint32 // samples folded in, saturating
}

// Update folds x in with weight alpha in (0, 1]; the first sample sets the
// mean.
func (e *EWMA) Update(x, alpha float64) {
	if e.n == 0 {
		e.mean, e.variance = x, 0
	} else {
		diff := x - e.mean
		incr := alpha * diff
		e.mean += incr
		e.variance = (1 - alpha) * (e.variance + diff*incr)
	}
	if e.n < math.MaxUint32 {
		e.n++
	}
}

// Mean is the baseline's mean.
func (e *EWMA) Mean() float64 { return e.mean }

// Std is the baseline's standard deviation (no floor).
func (e *EWMA) Std() float64 { return math.Sqrt(max(e.variance, 0)) }

// Samples is the number of buckets folded in.
func (e *EWMA) Samples() int { return int(e.n) }

// BaselineConfig tunes the EWMA baselines of the flood detector (per route
// and per source). The zero value works; each field's comment gives its
// default.
type BaselineConfig struct {
	// Bucket is the sampling period: each series gives one sample per
	// bucket. Default 1 second.
	Bucket time.Duration
	// Alpha is the weight of the newest bucket (a memory of about 1/Alpha
	// buckets). Default 0.05.
	Alpha float64
	// WarmUp is the number of buckets a series must have seen (idle ones
	// included) before it is judged. Default 60.
	WarmUp int
	// Threshold is the z-score from which a bucket is anomalous (upward
	// only: a quiet second is no attack). Default 6.
	Threshold float64
	// MinRouteRate: a route's request rate below this (per second) is never
	// anomalous, whatever its baseline. Default 50.
	MinRouteRate float64
	// MinErrors: a bucket with fewer errors than this is never an error-rate
	// anomaly. Default 10.
	MinErrors int
	// MinLatencyRequests: a bucket with fewer requests than this is never a
	// latency anomaly (one slow request says little). Default 10.
	MinLatencyRequests int
	// MinLatencyStd floors a route latency's standard deviation. Default 5ms.
	MinLatencyStd time.Duration
	// MaxRoutes bounds the routes tracked; later ones are not. Default 256.
	MaxRoutes int
}

func (c BaselineConfig) withDefaults() BaselineConfig {
	if c.Bucket <= 0 {
		c.Bucket = time.Second
	}
	if c.Alpha <= 0 || c.Alpha > 1 {
		c.Alpha = 0.05
	}
	if c.WarmUp <= 0 {
		c.WarmUp = 60
	}
	if c.Threshold <= 0 {
		c.Threshold = 6
	}
	if c.MinRouteRate <= 0 {
		c.MinRouteRate = 50
	}
	if c.MinErrors <= 0 {
		c.MinErrors = 10
	}
	if c.MinLatencyRequests <= 0 {
		c.MinLatencyRequests = 10
	}
	if c.MinLatencyStd <= 0 {
		c.MinLatencyStd = 5 * time.Millisecond
	}
	if c.MaxRoutes <= 0 {
		c.MaxRoutes = 256
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c BaselineConfig) Validate() error {
	if c.Alpha < 0 || c.Alpha > 1 {
		return fmt.Errorf("%w: baseline alpha %g outside [0, 1]", ErrInvalidConfig, c.Alpha)
	}
	return nil
}

// The floors on a series' standard deviation, so that a flat (zero
// variance) baseline neither divides by zero nor alarms on noise.
const (
	minRateStd      = 1.0  // requests per second; Poisson's sqrt(mean) above 1
	minErrRatioStd  = 0.05 // share of requests
	relLatencyFloor = 0.25 // of the mean latency
)

// Reading is one bucket judged against its series' baseline: the evidence
// of an anomaly.
type Reading struct {
	Series    string  // "rate", "error_rate" or "latency_ms"
	Value     float64 // the bucket's value
	Mean, Std float64 // the baseline before the bucket (Std floored)
	Z         float64
	Anomalous bool
}

// evidence adds r to ev.
func (r Reading) evidence(ev map[string]any) {
	ev["series"] = r.Series
	ev["value"] = r.Value
	ev["baseline_mean"] = r.Mean
	ev["baseline_std"] = r.Std
	ev["z"] = r.Z
}

// judge scores x against e, then folds it in. judged false (too little
// evidence in the bucket, or under the series' absolute minimum) only
// learns. An anomalous sample leaves the variance alone and moves the mean
// at a tenth of the usual weight: a flood neither widens its own baseline
// (an EWMA variance fed a step absorbs it within a few buckets) nor stays
// anomalous for ever once it is the new normal (about 300 buckets for a
// step of 25 sigma with the defaults).
func (c *BaselineConfig) judge(e *EWMA, series string, x, floor float64, judged bool) Reading {
	std := max(e.Std(), floor)
	r := Reading{Series: series, Value: x, Mean: e.mean, Std: std, Z: (x - e.mean) / std}
	r.Anomalous = judged && int(e.n) >= c.WarmUp && r.Z >= c.Threshold
	if r.Anomalous {
		e.mean += c.Alpha / 10 * (x - e.mean)
		return r
	}
	e.Update(x, c.Alpha)
	return r
}

// bucketIndex is t's bucket.
func bucketIndex(t time.Time, width time.Duration) int64 { return t.UnixNano() / int64(width) }

// rateFloor is a request rate's floor: Poisson noise, at least minRateStd.
func rateFloor(e *EWMA) float64 { return max(minRateStd, math.Sqrt(max(e.mean, 0))) }

// bucketCounts accumulates one bucket of a series family.
type bucketCounts struct {
	idx     int64 // the bucket's index: time / Bucket
	hits    uint32
	errs    uint32
	latency time.Duration // sum over hits
}

// maxIdleBuckets caps the idle buckets folded into a rate after a gap: a
// pause is no new normal (a route quiet overnight, a test's gateway between
// two runs), and a baseline that learnt zero would take the traffic's
// return, at its usual rate, for a flood.
const maxIdleBuckets = 10

// isError is the flood detector's error class: 5xx (the gateway or the
// retrieval service in distress, load shedding included) and 4xx other than
// 401, 403, 404 and 429. Those four are a client's own business or another
// detector's (authentication, policy, scanners, the limiter doing its job,
// whose 429 share the fixed thresholds watch); what stays (400, 405, 413,
// 431, ...) are malformed requests, a surge of which is an attack's mark.
func isError(status int) bool {
	switch {
	case status >= 500:
		return true
	case status < 400:
		return false
	}
	switch status {
	case 401, 403, 404, 429:
		return false
	}
	return true
}
