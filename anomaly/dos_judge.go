package anomaly

import (
	"fmt"
	"net/netip"
	"time"
)

// judge turns a source's window into a Decision.
func (d *DoS) judge(st *sourceState, src netip.Prefix, h Hit) Decision {
	cfg := &d.cfg
	total, limited := st.win.sums(h.Time, cfg.Window/windowBuckets)
	rate := float64(total) / cfg.Window.Seconds()
	ratio := 0.0
	if total > 0 {
		ratio = float64(limited) / float64(total)
	}
	surge := st.surging(h.Time)
	st.score = min(1, max(rate/cfg.MaxRate, ratio/cfg.Max429Ratio))
	if surge {
		st.score = 1
	}
	cur := st.current(h.Time)
	fixed := total >= uint64(cfg.MinRequests) && (rate > cfg.MaxRate || ratio >= cfg.Max429Ratio)
	if !fixed && !surge {
		return Decision{Action: cur}
	}
	st.flagUntil = h.Time.Add(cfg.FlagTTL)
	severe := rate >= cfg.SevereRate
	ev := d.evidence(st, src, total, limited, surge)
	switch {
	case cur == ActionNone:
		return d.detect(st, src, h, ev, severe, fixed)
	case severe || h.Time.Sub(st.flaggedAt) >= cfg.EscalateAfter:
		reason := "persisted"
		if severe {
			reason = "severe_rate"
		}
		return d.block(st, src, h, ev, reason)
	}
	return Decision{Action: cur}
}

// detect answers a source's new detection: the first action, or a block
// when it is severe or a repeat offence.
func (d *DoS) detect(st *sourceState, src netip.Prefix, h Hit, ev map[string]any, severe, fixed bool) Decision {
	st.offences++
	st.flaggedAt = h.Time
	if severe {
		return d.block(st, src, h, ev, "severe_rate")
	}
	if st.offences >= d.cfg.BlockAfter {
		return d.block(st, src, h, ev, "repeat_offender")
	}
	st.action = d.cfg.FirstAction
	ev["reason"] = "rate"
	if !fixed { // only the source's baseline says so
		ev["reason"] = "baseline_" + st.surge.Series
	}
	return Decision{Action: st.action, Alert: d.alert(st, h, ev)}
}

// evidence is a flagged source's: its window, and its anomalous reading
// when it surges against its baseline.
func (d *DoS) evidence(st *sourceState, src netip.Prefix, total, limited uint64, surge bool) map[string]any {
	secs := d.cfg.Window.Seconds()
	ev := map[string]any{"requests": total, "rejected_429": limited, "rate_per_second": float64(total) / secs,
		"ratio_429": float64(limited) / float64(max(total, 1)), "window_seconds": secs, "source": src.String()}
	if surge {
		st.surge.evidence(ev)
	}
	return ev
}

func (d *DoS) block(st *sourceState, src netip.Prefix, h Hit, ev map[string]any, reason string) Decision {
	st.action = ActionBlocked
	ev["reason"] = reason
	key := src.String()
	if src.Bits() == src.Addr().BitLen() {
		key = src.Addr().String()
	}
	a := d.alert(st, h, ev)
	// The block list is in charge now; a source coming back starts afresh
	// (and, as a repeat offender, is blocked on its next detection).
	st.win, st.action, st.flagUntil, st.score = window{}, ActionNone, time.Time{}, 0
	st.surge, st.surgeUntil = Reading{}, time.Time{}
	return Decision{Action: ActionBlocked, Alert: a, Block: &BlockOrder{
		Kind: BlockIP, Key: key, TTL: d.cfg.BlockTTL,
		Reason: fmt.Sprintf("dos: %s (%v requests in %s)", reason, ev["requests"], d.cfg.Window),
	}}
}

func (d *DoS) alert(st *sourceState, h Hit, ev map[string]any) *Alert {
	sev := SeverityWarning
	if st.action == ActionBlocked {
		sev = SeverityCritical
	}
	ev["detections"] = st.offences
	return &Alert{Time: h.Time, Kind: KindDoS, Severity: sev, IP: h.IP.Unmap().String(),
		Action: st.action, Evidence: ev}
}

// flagged reports the source's current action and score.
func (d *DoS) flagged(ip netip.Addr, now time.Time) (Action, float64) {
	if !ip.IsValid() {
		return ActionNone, 0
	}
	src := d.source(ip)
	sh := d.shard(src)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.m[src]
	if st == nil {
		return ActionNone, 0
	}
	return st.current(now), st.score
}

// makeRoom drops idle sources when the shard is full. Called locked.
func (d *DoS) makeRoom(sh *dosShard, now time.Time) {
	limit := max(d.cfg.MaxSources/dosShards, 1)
	if len(sh.m) < limit {
		return
	}
	for k, st := range sh.m {
		if now.Sub(st.last) > d.cfg.Window && st.current(now) == ActionNone {
			delete(sh.m, k)
		}
	}
	for k, st := range sh.m {
		if len(sh.m) < limit {
			return
		}
		if st.current(now) == ActionNone {
			delete(sh.m, k)
		}
	}
}
