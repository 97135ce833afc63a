package anomaly

import (
	"cmp"
	"slices"
	"time"
)

// PrincipalStat is what the extraction detector knows of one principal
// reading other users' recommendations, for the dashboard.
type PrincipalStat struct {
	Principal string `json:"principal"`
	Role      string `json:"role"`
	// DistinctTargets is the count judged (exact here, or the shared
	// replicas' count when larger) over the detector's window.
	DistinctTargets int `json:"distinct_targets"`
	// Threshold is the count above which the principal is flagged.
	Threshold int `json:"threshold"`
	// Requests for other users' lists in the window.
	Requests uint64  `json:"requests"`
	Action   Action  `json:"action"`
	Score    float64 `json:"score"`
}

// Top returns up to n principals by distinct targets at now, most first
// (ties by name). Principals idle for a whole window are left out. It
// visits every tracked principal: meant for the admin API, not the request
// path.
func (e *Extraction) Top(now time.Time, n int) []PrincipalStat {
	var out []PrincipalStat
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.Lock()
		for name, st := range sh.m {
			if now.Sub(st.last) >= e.cfg.Window && st.current(now) == ActionNone {
				continue
			}
			reqs, _ := st.requests.sums(now, e.cfg.Window/windowBuckets)
			out = append(out, PrincipalStat{Principal: name, Role: st.role, DistinctTargets: st.distinct,
				Threshold: st.threshold(&e.cfg), Requests: reqs, Action: st.current(now), Score: st.score})
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b PrincipalStat) int {
		return cmp.Or(cmp.Compare(b.DistinctTargets, a.DistinctTargets), cmp.Compare(a.Principal, b.Principal))
	})
	return out[:min(len(out), max(n, 0))]
}
