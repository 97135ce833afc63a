package anomaly

import (
	"sync"
	"time"
)

// The route series, in the order of routeState.alarmed.
const (
	seriesRate = iota
	seriesErrors
	seriesLatency
	routeSeries
)

var seriesNames = [routeSeries]string{"rate", "error_rate", "latency_ms"}

// routeState is one route's baselines and its open bucket.
type routeState struct {
	mu                     sync.Mutex
	cur                    bucketCounts
	started                bool
	rate, errRate, latency EWMA
	alarmed                [routeSeries]bool // anomalous in the last judged bucket
}

// routeTable maps route labels to their state; bounded by MaxRoutes.
type routeTable struct {
	mu sync.RWMutex
	m  map[string]*routeState
}

// get returns route's state, adding it when there is room (nil otherwise).
func (t *routeTable) get(route string, limit int) *routeState {
	t.mu.RLock()
	st := t.m[route]
	t.mu.RUnlock()
	if st != nil {
		return st
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if st = t.m[route]; st == nil && len(t.m) < limit {
		st = &routeState{}
		t.m[route] = st
	}
	return st
}

// ObserveRoute counts h (all traffic: authenticated or not) in its route's
// series — request rate, error rate (isError) and mean latency per bucket —
// and judges each bucket against the route's EWMA baseline when it closes.
// A surge no single source explains (a distributed flood, an upstream
// slowing down) is news but has no offender to throttle or block: the
// decision is an alert (kind dos, subject "route:" and the route, the
// series' evidence) with action none, raised when a series turns
// anomalous, not again while it stays so. Hits without a route count
// nowhere.
func (d *DoS) ObserveRoute(h Hit) Decision {
	if h.Route == "" {
		return Decision{Action: ActionNone}
	}
	st := d.routes.get(h.Route, d.cfg.Baseline.MaxRoutes)
	if st == nil {
		return Decision{Action: ActionNone}
	}
	idx := bucketIndex(h.Time, d.cfg.Baseline.Bucket)
	st.mu.Lock()
	defer st.mu.Unlock()
	var news *Reading
	var r Reading
	switch {
	case !st.started:
		st.started, st.cur.idx = true, idx
	case idx > st.cur.idx:
		if r = d.closeRoute(st, idx); r.Anomalous {
			news = &r
		}
	} // a hit from an earlier bucket (the clock stepped back) counts in the open one
	st.cur.hits++
	if isError(h.Status) {
		st.cur.errs++
	}
	st.cur.latency += max(h.Latency, 0)
	if news == nil {
		return Decision{Action: ActionNone}
	}
	return Decision{Action: ActionNone, Alert: d.routeAlert(h, *news)}
}

// closeRoute judges the open bucket and the idle ones up to idx, opens
// bucket idx, and returns the most anomalous reading that is news (a series
// that was not anomalous in its last judged bucket). Called locked.
func (d *DoS) closeRoute(st *routeState, idx int64) Reading {
	bl := &d.cfg.Baseline
	c := st.cur
	var got [routeSeries]Reading
	rate := float64(c.hits) / bl.Bucket.Seconds()
	got[seriesRate] = bl.judge(&st.rate, seriesNames[seriesRate], rate, rateFloor(&st.rate), rate >= bl.MinRouteRate)
	ratio := float64(c.errs) / float64(max(c.hits, 1))
	got[seriesErrors] = bl.judge(&st.errRate, seriesNames[seriesErrors], ratio, minErrRatioStd, int(c.errs) >= bl.MinErrors)
	ms := float64(c.latency) / float64(time.Millisecond) / float64(max(c.hits, 1))
	floor := max(float64(bl.MinLatencyStd)/float64(time.Millisecond), relLatencyFloor*st.latency.Mean())
	got[seriesLatency] = bl.judge(&st.latency, seriesNames[seriesLatency], ms, floor, int(c.hits) >= bl.MinLatencyRequests)
	var news Reading
	for i, r := range got {
		if r.Anomalous && !st.alarmed[i] && r.Z > news.Z {
			news = r
		}
		st.alarmed[i] = r.Anomalous
	}
	for range min(idx-c.idx-1, maxIdleBuckets) { // idle buckets: no requests at all
		bl.judge(&st.rate, seriesNames[seriesRate], 0, minRateStd, false)
		st.alarmed[seriesRate] = false
	}
	st.cur = bucketCounts{idx: idx}
	return news
}

// routeAlert is the alert of a route's anomalous reading.
func (d *DoS) routeAlert(h Hit, r Reading) *Alert {
	ev := map[string]any{"reason": "route_baseline", "route": h.Route,
		"bucket_seconds": d.cfg.Baseline.Bucket.Seconds(), "threshold_z": d.cfg.Baseline.Threshold}
	r.evidence(ev)
	return &Alert{Time: h.Time, Kind: KindDoS, Severity: SeverityWarning, Subject: "route:" + h.Route,
		Action: ActionNone, Evidence: ev}
}
