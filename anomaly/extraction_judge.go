package anomaly

import (
	"fmt"
	"math"
	"time"
)

// judge turns the principal's counts into a Decision: an alert on a first
// detection and on escalation, the standing action otherwise.
func (e *Extraction) judge(st *principalState, r RecRequest) Decision {
	cfg := &e.cfg
	now := r.Time
	distinct, thr := st.distinct, st.threshold(cfg)
	st.score = min(1, float64(distinct)/float64(max(thr, 1)))
	over := distinct > thr
	reason := e.signal(st, now)
	if reason != "" {
		st.score = 1
	}
	cur := st.current(now)
	if !over && reason == "" {
		return Decision{Action: cur}
	}
	st.flagUntil = now.Add(cfg.FlagTTL)
	severe := float64(distinct) > float64(thr)*cfg.SevereFactor
	switch {
	case severe:
		reason = "distinct_targets_severe"
	case over:
		reason = "distinct_targets"
	}
	switch {
	case cur == ActionNone:
		if now.Sub(st.lastOffence) > offenceMemory {
			st.offences = 0
		}
		st.offences++
		st.flaggedAt, st.lastOffence = now, now
		if st.offences >= cfg.BlockAfter || severe {
			return e.block(st, r, reason, distinct, thr)
		}
		st.action = cfg.FirstAction
		return Decision{Action: st.action, Alert: e.alert(st, r, reason, distinct, thr)}
	case severe || now.Sub(st.flaggedAt) >= cfg.EscalateAfter:
		if !severe {
			reason = "persisted"
		}
		return e.block(st, r, reason, distinct, thr)
	}
	return Decision{Action: cur}
}

// signal names the first signal other than the distinct count that is over
// its threshold, or "" when none is.
func (e *Extraction) signal(st *principalState, now time.Time) string {
	cfg := &e.cfg
	cov, _ := coverage(st.distinct, now, cfg, e.activity)
	switch {
	case cfg.StrideRun > 0 && st.run >= cfg.StrideRun:
		return "sequential_ids"
	case cfg.RankTau > 0 && st.sig.rankTau(cfg) >= cfg.RankTau:
		return "rank_correlation"
	case cfg.InactiveShare > 0 && st.sig.inactiveShare(cfg) >= cfg.InactiveShare:
		return "inactive_targets"
	case cfg.NewTargetsPerSecond > 0 && st.sig.newRate(now, cfg) > st.rateThreshold(cfg):
		return "new_target_rate"
	case cfg.CoverageMax > 0 && cov > cfg.CoverageMax:
		return "coverage"
	}
	return ""
}

// block answers with a block of the principal and forgets its counts.
func (e *Extraction) block(st *principalState, r RecRequest, reason string, distinct, thr int) Decision {
	st.action = ActionBlocked
	a := e.alert(st, r, reason, distinct, thr)
	st.reset()
	return Decision{Action: ActionBlocked, Alert: a, Block: &BlockOrder{
		Kind: BlockSubject, Key: r.Principal, TTL: e.cfg.BlockTTL,
		Reason: fmt.Sprintf("extraction: %s (%d distinct users in %s)", reason, distinct, e.cfg.Window),
	}}
}

func (e *Extraction) alert(st *principalState, r RecRequest, reason string, distinct, thr int) *Alert {
	sev := SeverityWarning
	if st.action == ActionBlocked {
		sev = SeverityCritical
	}
	reqs, _ := st.requests.sums(r.Time, e.cfg.Window/windowBuckets)
	a := &Alert{
		Time: r.Time, Kind: KindExtraction, Severity: sev, Subject: r.Principal,
		Action: st.action,
		Evidence: map[string]any{
			"reason":           reason,
			"role":             st.role,
			"distinct_targets": distinct,
			"threshold":        thr,
			"baseline":         st.baseline,
			"requests":         reqs,
			"window_seconds":   e.cfg.Window.Seconds(),
			"stride_run":       st.run,
			"detections":       st.offences,
			"flagged_for":      now0(r.Time.Sub(st.flaggedAt)).String(),
		},
	}
	e.signalEvidence(a.Evidence, st, r.Time)
	if r.IP.IsValid() {
		a.IP = r.IP.Unmap().String()
	}
	return a
}

func now0(d time.Duration) time.Duration { return max(d, 0).Round(time.Second) }

// signalEvidence adds the new-target signals to an alert's evidence (-1
// where a signal has too little data to be judged).
func (e *Extraction) signalEvidence(ev map[string]any, st *principalState, now time.Time) {
	cfg := &e.cfg
	cov, pop := coverage(st.distinct, now, cfg, e.activity)
	ev["new_targets_per_second"] = round3(st.sig.newRate(now, cfg))
	ev["new_targets_rate_threshold"] = round3(st.rateThreshold(cfg))
	ev["rank_tau"] = -1.0
	if st.sig.rank != nil && st.sig.rank.n >= cfg.RankSample {
		ev["rank_tau"] = round3(st.sig.rank.tau())
	}
	ev["inactive_share"] = -1.0
	if st.sig.inactive.n >= cfg.InactiveSample {
		ev["inactive_share"] = round3(st.sig.inactive.share())
	}
	ev["inactive_sample"] = st.sig.inactive.n
	ev["coverage"], ev["population"] = round3(cov), pop
	if e.activity != nil {
		ev["active_users"] = e.activity.Len()
	}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
