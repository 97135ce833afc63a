package anomaly

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// trafficShards spreads principals over locks: Traffic is on the request path.
const trafficShards = 16

// maxTrafficPerShard bounds the principals one shard counts in a window;
// past it new principals go uncounted until the window turns (the busiest
// ones, which the dashboard shows, are already in).
const maxTrafficPerShard = 4096

// Traffic counts each principal's authenticated requests in fixed windows,
// for the dashboard's top principals. Safe for concurrent use; one map
// increment per request.
type Traffic struct {
	window time.Duration
	seed   maphash.Seed
	shards [trafficShards]trafficShard
}

type trafficShard struct {
	mu        sync.Mutex
	start     time.Time // of the current window
	cur, prev map[string]*principalCount
}

type principalCount struct {
	role string
	n    uint64
}

// RequestStat is one principal's requests in the last complete window plus
// the current one.
type RequestStat struct {
	Principal string `json:"principal"`
	Role      string `json:"role"`
	Requests  uint64 `json:"requests"`
}

// NewTraffic counts in windows of w (default 1 minute when w <= 0).
func NewTraffic(w time.Duration) *Traffic {
	if w <= 0 {
		w = time.Minute
	}
	t := &Traffic{window: w, seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].cur = make(map[string]*principalCount)
	}
	return t
}

// Window is the counting window.
func (t *Traffic) Window() time.Duration { return t.window }

// Count adds one request of principal at now.
func (t *Traffic) Count(principal, role string, now time.Time) {
	sh := &t.shards[maphash.String(t.seed, principal)%trafficShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.turn(now, t.window)
	c := sh.cur[principal]
	if c == nil {
		if len(sh.cur) >= maxTrafficPerShard {
			return
		}
		c = &principalCount{role: role}
		sh.cur[principal] = c
	}
	c.n++
}

// turn starts a new window when the current one has ended.
func (sh *trafficShard) turn(now time.Time, w time.Duration) {
	switch age := now.Sub(sh.start); {
	case age < w:
	case age < 2*w:
		sh.prev, sh.cur, sh.start = sh.cur, make(map[string]*principalCount, len(sh.cur)), sh.start.Add(w)
	default:
		sh.prev, sh.cur, sh.start = nil, make(map[string]*principalCount), now
	}
}

// Top returns up to n principals by requests in the previous and the
// current window, most first (ties by name).
func (t *Traffic) Top(now time.Time, n int) []RequestStat {
	sums := map[string]*RequestStat{}
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		sh.turn(now, t.window)
		for _, m := range []map[string]*principalCount{sh.prev, sh.cur} {
			for name, c := range m {
				s := sums[name]
				if s == nil {
					s = &RequestStat{Principal: name, Role: c.role}
					sums[name] = s
				}
				s.Requests += c.n
			}
		}
		sh.mu.Unlock()
	}
	out := make([]RequestStat, 0, len(sums))
	for _, s := range sums {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b RequestStat) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Principal, b.Principal))
	})
	return out[:min(len(out), max(n, 0))]
}
