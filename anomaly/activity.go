package anomaly

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// ActivityConfig bounds the set of recently active users. The zero value
// works; each field's comment gives its default.
type ActivityConfig struct {
	// TTL: a user is active this long after its last watch, rate or
	// create_account event. Default 30 minutes.
	TTL time.Duration
	// Cap bounds the users kept; past it the least recently active go
	// first. Default 1,000,000 (about 100 MB at most).
	Cap int
	// WarmUp: the set judges no one inactive until it has followed the
	// stream this long (a gateway that just started, or resumed its
	// consumer group, has not seen the users who were active before).
	// Default 10 minutes.
	WarmUp time.Duration
	// Stale: the set judges no one inactive while no event arrived this
	// long (a stalled consumer must not make every user look inactive).
	// Default TTL/2.
	Stale time.Duration
}

func (c ActivityConfig) withDefaults() ActivityConfig {
	if c.TTL <= 0 {
		c.TTL = 30 * time.Minute
	}
	if c.Cap <= 0 {
		c.Cap = 1_000_000
	}
	if c.WarmUp <= 0 {
		c.WarmUp = 10 * time.Minute
	}
	if c.Stale <= 0 {
		c.Stale = c.TTL / 2
	}
	return c
}

// activityShards spreads users over locks: the request path reads while
// the movielog consumer writes.
const activityShards = 16

// Activity is the set of users seen in the verified movielog stream lately:
// a real front end asks for users who are watching now, a scraper for
// everyone. Bounded (Cap, evicting the least recently active) and safe for
// concurrent use.
type Activity struct {
	cfg    ActivityConfig
	seed   maphash.Seed
	shards [activityShards]activityShard
	size   atomic.Int64
	first  atomic.Int64 // unix nanos of the earliest event observed; 0: none
	last   atomic.Int64 // unix nanos of the newest event observed
}

type activityShard struct {
	mu    sync.Mutex
	users map[string]activeUser
	// queue[head:] holds one entry per user, about oldest first, for expiry
	// and eviction: a user seen again is not re-queued at once but when its
	// entry reaches the head (see pop), so the queue stays at the users.
	queue []targetEntry
	head  int
}

// activeUser is a user's newest event and the time its queue entry holds.
type activeUser struct{ last, queued time.Time }

// NewActivity returns an empty set.
func NewActivity(cfg ActivityConfig) *Activity {
	a := &Activity{cfg: cfg.withDefaults(), seed: maphash.MakeSeed()}
	for i := range a.shards {
		a.shards[i].users = make(map[string]activeUser)
	}
	return a
}

// TTL is how long a user stays active after its last event.
func (a *Activity) TTL() time.Duration { return a.cfg.TTL }

func (a *Activity) shard(user string) *activityShard {
	return &a.shards[maphash.String(a.seed, user)%activityShards]
}

// Observe records an event of user at at (the caller clamps times from the
// future). Events older than TTL at arrival still tell the set how far back
// it has followed the stream, but add no one.
func (a *Activity) Observe(user string, at time.Time, now time.Time) {
	ns := at.UnixNano()
	for f := a.first.Load(); f == 0 || ns < f; f = a.first.Load() {
		if a.first.CompareAndSwap(f, ns) {
			break
		}
	}
	for l := a.last.Load(); ns > l; l = a.last.Load() {
		if a.last.CompareAndSwap(l, ns) {
			break
		}
	}
	if user == "" || now.Sub(at) >= a.cfg.TTL {
		return
	}
	sh := a.shard(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.expire(a, now)
	u, seen := sh.users[user]
	switch {
	case !seen:
		sh.users[user] = activeUser{last: at, queued: at}
		sh.queue = append(sh.queue, targetEntry{user, at})
		a.size.Add(1)
		sh.evict(a, now)
	case at.After(u.last):
		u.last = at
		sh.users[user] = u
	}
}

// Active reports whether user had an event within TTL before now.
func (a *Activity) Active(user string, now time.Time) bool {
	sh := a.shard(user)
	sh.mu.Lock()
	u, ok := sh.users[user]
	sh.mu.Unlock()
	return ok && now.Sub(u.last) < a.cfg.TTL
}

// Len is the number of users kept: the active ones, and those gone idle
// since the last event of their shard (expiry is lazy).
func (a *Activity) Len() int { return int(a.size.Load()) }

// Ready reports whether the set may call a user inactive at now: it holds
// someone, has followed the stream for WarmUp, and heard from it within
// Stale.
func (a *Activity) Ready(now time.Time) bool {
	first, last := a.first.Load(), a.last.Load()
	if a.size.Load() == 0 || first == 0 {
		return false
	}
	n := now.UnixNano()
	return n-first >= int64(a.cfg.WarmUp) && n-last < int64(a.cfg.Stale)
}

// expire drops the users whose newest event is TTL or more before now.
// Called with the shard's lock held.
func (sh *activityShard) expire(a *Activity, now time.Time) {
	for sh.head < len(sh.queue) && now.Sub(sh.queue[sh.head].at) >= a.cfg.TTL {
		sh.pop(a, now)
	}
	sh.compact()
}

// evict drops the least recently active users while the shard is over its
// share of Cap. Called with the shard's lock held.
func (sh *activityShard) evict(a *Activity, now time.Time) {
	limit := max(a.cfg.Cap/activityShards, 1)
	for len(sh.users) > limit && sh.head < len(sh.queue) {
		sh.pop(a, now)
	}
	sh.compact()
}

// pop takes the head entry: its user goes, unless seen again since the
// entry was queued and still active, when it is queued again at its newest
// event. Each user thus has one entry, and a pop either removes a user or
// moves one that will be removed when next at the head.
func (sh *activityShard) pop(a *Activity, now time.Time) {
	e := sh.queue[sh.head]
	sh.queue[sh.head] = targetEntry{}
	sh.head++
	u, ok := sh.users[e.target]
	if !ok || !u.queued.Equal(e.at) {
		return
	}
	if u.last.After(u.queued) && now.Sub(u.last) < a.cfg.TTL {
		u.queued = u.last
		sh.users[e.target] = u
		sh.queue = append(sh.queue, targetEntry{e.target, u.last})
		return
	}
	delete(sh.users, e.target)
	a.size.Add(-1)
}

func (sh *activityShard) compact() {
	if sh.head > 64 && sh.head*2 > len(sh.queue) {
		sh.queue = append(sh.queue[:0], sh.queue[sh.head:]...)
		sh.head = 0
	}
}
