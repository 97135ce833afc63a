package ratelimit

import (
	"context"
	"sync"
	"time"
)

const (
	// maxMemoryCounters bounds the counter windows Memory tracks at once.
	maxMemoryCounters = 1 << 16
	// maxCounterMembers bounds the distinct members one window remembers;
	// past it the count stops growing, which still says "very many".
	maxCounterMembers = 1 << 12
)

// Memory is the in-process Checker: Local's GCRA, a DenyList, and counters in
// fixed windows. It answers when no Redis is configured, and for a Fallback
// while Redis is unreachable. Its zero value is not usable; call NewMemory.
type Memory struct {
	limiter *Local
	deny    *DenyList
	now     func() time.Time

	mu        sync.Mutex
	counters  map[string]*counterWindow
	nextSweep time.Time
}

type counterWindow struct {
	end     time.Time
	count   int64
	members map[string]struct{}
}

var (
	_ Limiter = (*Memory)(nil)
	_ Checker = (*Memory)(nil)
)

// NewMemory returns an in-process Checker answering blocks and revocations
// from deny (nil: a fresh list). Pass Redis.DenyList() to share its copy.
func NewMemory(deny *DenyList) *Memory {
	return newMemory(deny, time.Now)
}

func newMemory(deny *DenyList, now func() time.Time) *Memory {
	if deny == nil {
		deny = newDenyList(now)
	}
	return &Memory{limiter: newLocal(now), deny: deny, now: now, counters: make(map[string]*counterWindow)}
}

// DenyList returns the block and revocation lists Memory answers from.
func (m *Memory) DenyList() *DenyList {
	return m.deny
}

// Allow is Local.Allow.
func (m *Memory) Allow(ctx context.Context, key string, r Rate) (Result, error) {
	return m.limiter.Allow(ctx, key, r)
}

// Check decides req in process, in the same order as Redis.Check.
func (m *Memory) Check(ctx context.Context, req Request) (Verdict, error) {
	if err := req.Validate(); err != nil {
		return Verdict{}, err
	}
	if v, ok := localVerdict(m.deny, req); ok {
		return v, nil
	}
	res, err := m.limiter.Allow(ctx, req.LimitKey(), req.Rate)
	if err != nil || !res.Allowed {
		return Verdict{Limit: res}, err
	}
	return Verdict{Limit: res, Counters: m.count(req)}, nil
}

// count increments req's counters and returns their values.
func (m *Memory) count(req Request) []int64 {
	if len(req.Counters) == 0 {
		return nil
	}
	out := make([]int64, len(req.Counters))
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	for i, c := range req.Counters {
		key := req.LimitKey() + "\x00" + c.Name
		w := m.counters[key]
		if w == nil || !now.Before(w.end) {
			if w == nil && len(m.counters) >= maxMemoryCounters {
				out[i] = 1 // untracked: report the request itself
				continue
			}
			w = &counterWindow{end: now.Add(c.Window)}
			m.counters[key] = w
		}
		out[i] = w.add(c.Member)
	}
	return out
}

func (w *counterWindow) add(member string) int64 {
	if member == "" {
		w.count++
		return w.count
	}
	if w.members == nil {
		w.members = make(map[string]struct{})
	}
	if len(w.members) < maxCounterMembers {
		w.members[member] = struct{}{}
	}
	return int64(len(w.members))
}

// sweep drops ended windows at most once per sweepEvery; the caller holds
// m.mu.
func (m *Memory) sweep(now time.Time) {
	if now.Before(m.nextSweep) {
		return
	}
	m.nextSweep = now.Add(sweepEvery)
	for k, w := range m.counters {
		if !now.Before(w.end) {
			delete(m.counters, k)
		}
	}
}
