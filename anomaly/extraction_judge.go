package anomaly

import (
	"fmt"
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
	sequential := cfg.StrideRun > 0 && st.run >= cfg.StrideRun
	if sequential {
		st.score = 1
	}
	cur := st.current(now)
	if !over && !sequential {
		return Decision{Action: cur}
	}
	st.flagUntil = now.Add(cfg.FlagTTL)
	severe := float64(distinct) > float64(thr)*cfg.SevereFactor
	reason := "distinct_targets"
	switch {
	case severe:
		reason = "distinct_targets_severe"
	case sequential && !over:
		reason = "sequential_ids"
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
	if r.IP.IsValid() {
		a.IP = r.IP.Unmap().String()
	}
	return a
}

func now0(d time.Duration) time.Duration { return max(d, 0).Round(time.Second) }
