package anomaly

import "time"

// observeSourceBaseline counts h in its source's open bucket; when h opens
// a later bucket, the closed one is judged against the source's baselines
// (request rate from MinRequests per Window's worth a second, error rate
// from MinErrors errors), and an anomalous reading becomes the source's
// surge evidence until the end of the bucket after it. Called locked.
func (d *DoS) observeSourceBaseline(st *sourceState, h Hit) {
	bl := &d.cfg.Baseline
	idx := bucketIndex(h.Time, bl.Bucket)
	switch {
	case st.cur.idx == 0 && st.cur.hits == 0:
		st.cur.idx = idx
	case idx > st.cur.idx:
		c := st.cur
		minRate := float64(d.cfg.MinRequests) / d.cfg.Window.Seconds()
		rate := float64(c.hits) / bl.Bucket.Seconds()
		r := bl.judge(&st.rate, seriesNames[seriesRate], rate, rateFloor(&st.rate), rate >= minRate)
		ratio := float64(c.errs) / float64(max(c.hits, 1))
		e := bl.judge(&st.errRate, seriesNames[seriesErrors], ratio, minErrRatioStd, int(c.errs) >= bl.MinErrors)
		if e.Anomalous && (!r.Anomalous || e.Z > r.Z) {
			r = e
		}
		if r.Anomalous {
			st.surge, st.surgeUntil = r, time.Unix(0, (c.idx+2)*int64(bl.Bucket))
		}
		for range min(idx-c.idx-1, maxIdleBuckets) {
			bl.judge(&st.rate, seriesNames[seriesRate], 0, minRateStd, false)
		}
		st.cur = bucketCounts{idx: idx}
	}
	st.cur.hits++
	if isError(h.Status) {
		st.cur.errs++
	}
}

// surging reports whether the source's last bucket was anomalous against
// its baseline, as of now.
func (st *sourceState) surging(now time.Time) bool {
	return st.surge.Anomalous && now.Before(st.surgeUntil)
}
