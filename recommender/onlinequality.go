package recommender

import (
	"slices"
	"sync"
	"time"
)

// OnlineConfig tunes an OnlineMonitor; the zero value works.
type OnlineConfig struct {
	// Within: an answer converts when its user starts watching one of its
	// movies at most this long after it (a movie they were already
	// watching does not count); default 30 minutes. It is also the pause
	// after which watching a movie again counts as a new viewing.
	Within time.Duration
	// Window: a snapshot covers the answers of the last Window (and, for
	// conversion, the settled answers of the Window ending Within ago);
	// default 10 minutes.
	Window time.Duration
	// MaxAnswers bounds the answers kept; the oldest go first. Default
	// 1,000,000.
	MaxAnswers int
	// MaxSpans bounds the watch spans kept per user; default 64.
	MaxSpans int
	// Pairs is how many user pairs per version personalization samples at
	// most; default 2000 (all pairs when there are fewer).
	Pairs int
	// MaxUsers bounds the users with watches kept; past it, users with no
	// answer kept are dropped first. Default 1,000,000.
	MaxUsers int
}

// Online monitor defaults.
const (
	DefaultOnlineWithin     = 30 * time.Minute
	DefaultOnlineWindow     = 10 * time.Minute
	DefaultOnlineMaxAnswers = 1_000_000
	DefaultOnlineMaxSpans   = 64
	DefaultOnlinePairs      = 2000
	DefaultOnlineMaxUsers   = 1_000_000
)

func (c OnlineConfig) withDefaults() OnlineConfig {
	if c.Within <= 0 {
		c.Within = DefaultOnlineWithin
	}
	if c.Window <= 0 {
		c.Window = DefaultOnlineWindow
	}
	if c.MaxAnswers <= 0 {
		c.MaxAnswers = DefaultOnlineMaxAnswers
	}
	if c.MaxSpans <= 0 {
		c.MaxSpans = DefaultOnlineMaxSpans
	}
	if c.Pairs <= 0 {
		c.Pairs = DefaultOnlinePairs
	}
	if c.MaxUsers <= 0 {
		c.MaxUsers = DefaultOnlineMaxUsers
	}
	return c
}

// OnlineAnswer is one answered recommendation request, as the gateway's
// request log records it.
type OnlineAnswer struct {
	Time    time.Time
	User    string
	Model   string // the version that produced it; "" counts as UnknownModel
	Status  int
	Items   []string
	Latency time.Duration
}

// OnlineWatch is one watch line of the movielog stream.
type OnlineWatch struct {
	Time  time.Time
	User  string
	Movie string
}

// UnknownModel names answers whose record did not say which model made them.
const UnknownModel = "unknown"

// OnlineMonitor measures, per model version, what users do with their
// recommendations: conversion (a watch of a recommended movie soon after),
// availability, latency and personalization. Records may arrive in any
// order across the two streams: a watch converts answers seen before or
// after it. Time is the records' own (event time), and the watermark is
// the latest answer time: the gateway stamps answers, while watch times
// come from ingest clients, so a watch dated in the future can neither
// move the watermark nor empty the monitor. Safe for concurrent use.
type OnlineMonitor struct {
	cfg OnlineConfig

	mu         sync.Mutex
	queue      []*onlineAnswer // arrival order, for eviction
	head       int
	users      map[string]*onlineUser
	watermark  time.Time
	sinceSweep int // observations since the last sweep of stale users
}

// sweepEvery is how many observations pass between sweeps of users whose
// watches are too old to convert anything.
const sweepEvery = 4096

type onlineAnswer struct {
	OnlineAnswer
	converted bool
}

type onlineUser struct {
	answers []*onlineAnswer
	spans   []watchSpan // newest last
}

// watchSpan is one viewing: a run of watch lines of one movie by one user,
// with no other movie between and no pause longer than Within.
type watchSpan struct {
	movie    string
	from, to time.Time
}

// NewOnlineMonitor returns an empty monitor.
func NewOnlineMonitor(cfg OnlineConfig) *OnlineMonitor {
	return &OnlineMonitor{cfg: cfg.withDefaults(), users: make(map[string]*onlineUser)}
}

// Config returns the configuration in use, defaults filled in.
func (m *OnlineMonitor) Config() OnlineConfig { return m.cfg }

// ObserveAnswer records an answer; a watch already seen may convert it.
func (m *OnlineMonitor) ObserveAnswer(a OnlineAnswer) {
	if a.Model == "" {
		a.Model = UnknownModel
	}
	a.Items = slices.Clone(a.Items)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advance(a.Time)
	rec := &onlineAnswer{OnlineAnswer: a}
	u := m.user(a.User)
	for _, s := range u.spans {
		if m.converts(rec, s.movie, s.from) {
			rec.converted = true
			break
		}
	}
	u.answers = append(u.answers, rec)
	m.queue = append(m.queue, rec)
	m.evict()
}

// ObserveWatch records a watch line. A line that starts a viewing (see
// watchSpan) converts the user's answers that named its movie at most
// Within before it; a line continuing a viewing converts nothing, so a
// movie the user was already watching when asked does not count.
func (m *OnlineMonitor) ObserveWatch(w OnlineWatch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.user(w.User)
	if n := len(u.spans); n > 0 && u.spans[n-1].continues(w, m.cfg.Within) {
		s := &u.spans[n-1]
		s.from, s.to = minTime(s.from, w.Time), maxTime(s.to, w.Time)
		return
	}
	for _, a := range u.answers {
		if !a.converted && m.converts(a, w.Movie, w.Time) {
			a.converted = true
		}
	}
	m.maybeSweep()
	if len(u.spans) >= m.cfg.MaxSpans {
		u.spans = slices.Delete(u.spans, 0, 1)
	}
	u.spans = append(u.spans, watchSpan{movie: w.Movie, from: w.Time, to: w.Time})
}

// continues reports whether w belongs to the viewing s: the same movie,
// no other movie between, and no pause longer than gap.
func (s watchSpan) continues(w OnlineWatch, gap time.Duration) bool {
	return s.movie == w.Movie && w.Time.Sub(s.to) <= gap && s.from.Sub(w.Time) <= gap
}

// converts reports whether a viewing of movie that started at start
// converts a: a 200 answer naming movie, with start in [a.Time,
// a.Time+Within].
func (m *OnlineMonitor) converts(a *onlineAnswer, movie string, start time.Time) bool {
	return a.Status == 200 && !start.Before(a.Time) && !start.After(a.Time.Add(m.cfg.Within)) &&
		slices.Contains(a.Items, movie)
}

func (m *OnlineMonitor) user(id string) *onlineUser {
	u := m.users[id]
	if u == nil {
		u = &onlineUser{}
		m.users[id] = u
	}
	return u
}

func (m *OnlineMonitor) advance(t time.Time) {
	if t.After(m.watermark) {
		m.watermark = t
	}
}

// Watermark is the latest answer time observed.
func (m *OnlineMonitor) Watermark() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.watermark
}

// evict drops answers older than a snapshot can use, and the oldest beyond
// MaxAnswers, with users left with nothing recent.
func (m *OnlineMonitor) evict() {
	horizon := m.watermark.Add(-m.cfg.Within - m.cfg.Window)
	for m.head < len(m.queue) {
		a := m.queue[m.head]
		if len(m.queue)-m.head <= m.cfg.MaxAnswers && !a.Time.Before(horizon) {
			break
		}
		m.queue[m.head] = nil
		m.head++
		m.forget(a, horizon)
	}
	if m.head > len(m.queue)/2 && m.head > 1024 {
		m.queue = append(m.queue[:0], m.queue[m.head:]...)
		m.head = 0
	}
}

// maybeSweep drops, every sweepEvery calls, users with no answer kept and
// no watch recent enough to convert one; past MaxUsers, users with no
// answer kept go whatever their watches.
func (m *OnlineMonitor) maybeSweep() {
	full := len(m.users) > m.cfg.MaxUsers
	if m.sinceSweep++; m.sinceSweep < sweepEvery && !full {
		return
	}
	m.sinceSweep = 0
	horizon := m.watermark.Add(-m.cfg.Within - m.cfg.Window)
	for id, u := range m.users {
		if len(u.answers) == 0 && (full || len(u.spans) == 0 || u.spans[len(u.spans)-1].to.Before(horizon)) {
			delete(m.users, id)
		}
	}
}

func (m *OnlineMonitor) forget(a *onlineAnswer, horizon time.Time) {
	u := m.users[a.User]
	if u == nil {
		return
	}
	if i := slices.Index(u.answers, a); i >= 0 {
		u.answers = slices.Delete(u.answers, i, i+1)
	}
	if len(u.answers) == 0 && (len(u.spans) == 0 || u.spans[len(u.spans)-1].to.Before(horizon)) {
		delete(m.users, a.User)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
