package ratelimit

import (
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	ipShards = 16
	// DefaultMaxIPs bounds the addresses an IPLimiter tracks at once.
	DefaultMaxIPs = 1 << 16
)

// IPLimiter is the cheap pre-auth limit: an in-process token bucket per
// client address. IPv6 addresses share a bucket per /64, the block one host
// usually holds. Memory is bounded: idle buckets (full again) are dropped
// every few seconds, and when the table is full an arbitrary bucket is
// dropped, which only ever gives that address a fresh burst.
type IPLimiter struct {
	rate     Rate
	perShard int
	seed     maphash.Seed
	now      func() time.Time
	shards   [ipShards]ipShard
}

type ipShard struct {
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	nextSweep time.Time
}

// NewIPLimiter returns a per-IP limiter tracking up to DefaultMaxIPs
// addresses. An invalid r (see Rate.Validate) means DefaultIPRate.
func NewIPLimiter(r Rate) *IPLimiter {
	return NewIPLimiterSize(r, DefaultMaxIPs)
}

// NewIPLimiterSize is NewIPLimiter tracking up to maxIPs addresses (at least
// one per shard).
func NewIPLimiterSize(r Rate, maxIPs int) *IPLimiter {
	if r.Validate() != nil {
		r = DefaultIPRate
	}
	l := &IPLimiter{
		rate:     r,
		perShard: max(maxIPs/ipShards, 1),
		seed:     maphash.MakeSeed(),
		now:      time.Now,
	}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*rate.Limiter)
	}
	return l
}

// Allow spends one request of ip's budget if it has one. ip is an address
// ("192.0.2.1", "2001:db8::1", or with a port); anything else is limited as
// an opaque string.
func (l *IPLimiter) Allow(ip string) Result {
	key := ipKey(ip)
	s := &l.shards[maphash.String(l.seed, key)%ipShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	now := l.now()
	b := s.bucket(key, now, l)
	allowed := b.AllowN(now, 1)
	tokens := b.TokensAt(now)
	res := Result{
		Allowed:    allowed,
		Limit:      l.rate.Burst,
		Remaining:  int(max(tokens, 0)),
		ResetAfter: l.tokenTime(float64(l.rate.Burst) - tokens),
	}
	if !allowed {
		res.RetryAfter = max(l.tokenTime(1-tokens), time.Nanosecond)
	}
	return res
}

// Len returns how many addresses are tracked.
func (l *IPLimiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}

// tokenTime is how long the bucket takes to earn tokens, rounded up.
func (l *IPLimiter) tokenTime(tokens float64) time.Duration {
	if tokens <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(tokens / l.rate.PerSecond * float64(time.Second)))
}

// bucket finds or makes key's bucket, making room first; the caller holds s.mu.
func (s *ipShard) bucket(key string, now time.Time, l *IPLimiter) *rate.Limiter {
	if b, ok := s.buckets[key]; ok {
		return b
	}
	s.sweep(now, l.rate.Burst)
	for k := range s.buckets {
		if len(s.buckets) < l.perShard {
			break
		}
		delete(s.buckets, k)
	}
	b := rate.NewLimiter(rate.Limit(l.rate.PerSecond), l.rate.Burst)
	s.buckets[key] = b
	return b
}

// sweep drops buckets that are full again, at most once per sweepEvery, so a
// flood of new addresses cannot make every insert scan the table.
func (s *ipShard) sweep(now time.Time, burst int) {
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(sweepEvery)
	for k, b := range s.buckets {
		if b.TokensAt(now) >= float64(burst) {
			delete(s.buckets, k)
		}
	}
}

// ipKey names ip's bucket: the address itself, or its /64 for IPv6.
func ipKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		ap, perr := netip.ParseAddrPort(ip)
		if perr != nil {
			return ip
		}
		addr = ap.Addr()
	}
	addr = addr.WithZone("").Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, err := addr.Prefix(64)
	if err != nil {
		return addr.String()
	}
	return p.String()
}
