package ratelimit

import "time"

// maxWindow caps a bucket's emission interval and tolerance, so that absurd
// rates (1e-30/s, burst 1<<62) neither overflow a time.Duration nor leave the
// range where Redis's Lua doubles count microseconds exactly.
const maxWindow = 10 * 365 * 24 * time.Hour

// gcraParams is a Rate converted to the generic cell rate algorithm's terms at
// a clock resolution: Local counts nanoseconds, the Redis script microseconds.
type gcraParams struct {
	interval  time.Duration // emission interval: one request's share of time
	tolerance time.Duration // how far ahead of now the TAT may run: burst × interval
	burst     int
}

// params converts a valid Rate; resolution must be a positive divisor of a
// second (time.Nanosecond, time.Microsecond).
func (r Rate) params(resolution time.Duration) gcraParams {
	seconds := 1 / r.PerSecond
	interval := maxWindow
	if seconds < maxWindow.Seconds() {
		interval = time.Duration(seconds * float64(time.Second)).Round(resolution)
	}
	interval = max(interval, resolution)
	tolerance := maxWindow
	if int64(r.Burst) < int64(maxWindow/interval) {
		tolerance = interval * time.Duration(r.Burst)
	}
	return gcraParams{interval: interval, tolerance: tolerance, burst: r.Burst}
}

// gcra decides one request at now for a key whose theoretical arrival time
// (TAT) is tat; the zero time stands for a key never seen. It returns the TAT
// to store: unchanged on a denial, one interval further on an allow.
func gcra(tat, now time.Time, r Rate) (time.Time, Result) {
	return r.params(time.Nanosecond).apply(tat, now)
}

// apply is gcra with the rate already converted. A TAT in the past means a
// full bucket, which is why stale entries can simply be forgotten.
func (p gcraParams) apply(tat, now time.Time) (time.Time, Result) {
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(p.interval)
	ahead := next.Sub(now)
	if ahead > p.tolerance {
		return tat, Result{
			Limit:      p.burst,
			ResetAfter: tat.Sub(now),
			RetryAfter: ahead - p.tolerance,
		}
	}
	return next, Result{
		Allowed:    true,
		Limit:      p.burst,
		Remaining:  int((p.tolerance - ahead) / p.interval),
		ResetAfter: ahead,
	}
}
