package anomaly

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// HubConfig configures a Hub. The zero value works; each field's comment
// gives its default.
type HubConfig struct {
	// Keep is how many of the newest alerts Recent can return. Default 1000.
	Keep int
	// SubscriberBuffer is each subscriber's channel size; a subscriber that
	// falls this far behind loses alerts (counted). Default 64.
	SubscriberBuffer int
	// SinkQueue is each sink's queue size; alerts beyond it are dropped
	// (counted) rather than slowing Raise. Default 256.
	SinkQueue int
	// DedupeWindow folds an alert into the previous one with the same kind,
	// subject and ip raised less than this long before it. Default 1 minute;
	// negative turns folding off.
	DedupeWindow time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger gets sink failures (never evidence). Default discards.
	Logger *slog.Logger
}

func (c HubConfig) withDefaults() HubConfig {
	if c.Keep <= 0 {
		c.Keep = 1000
	}
	if c.SubscriberBuffer <= 0 {
		c.SubscriberBuffer = 64
	}
	if c.SinkQueue <= 0 {
		c.SinkQueue = 256
	}
	if c.DedupeWindow == 0 {
		c.DedupeWindow = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// HubStats counts what a Hub did since it started.
type HubStats struct {
	Raised          uint64          // alerts stored and delivered (folds excluded)
	Folded          uint64          // alerts folded into an earlier one
	SubscriberDrops uint64          // alerts a slow subscriber missed
	SinkDrops       uint64          // alerts a full sink queue (or a closed hub) lost
	SinkErrors      uint64          // Send calls that returned an error
	Subscribers     int             // subscribers now
	ByKind          map[Kind]uint64 // Raised by kind
}

// dedupeKey is what makes two alerts "the same" for folding.
type dedupeKey struct {
	kind        Kind
	subject, ip string
}

// fold remembers where the newest alert of a key sits and until when later
// ones fold into it.
type fold struct {
	seq     uint64
	until   time.Time
	repeats int
}

// Hub raises alerts: it keeps the newest for the admin API, folds repeats,
// and fans each new alert out to subscribers (server-sent events) and sinks
// (topic, webhook) without ever blocking the caller of Raise.
type Hub struct {
	cfg HubConfig
	ids idSource

	mu      sync.Mutex
	ring    []Alert
	ringSeq []uint64 // ringSeq[i] is the sequence number of ring[i], plus one
	seq     uint64   // alerts stored so far
	folds   map[dedupeKey]fold
	subs    map[*subscriber]struct{}
	sinks   []*sinkWorker
	closed  bool
	done    chan struct{}
	stats   HubStats

	sinkCtx    context.Context
	sinkCancel context.CancelFunc
	sinkWG     sync.WaitGroup
}

// NewHub returns a hub with cfg's defaults filled in.
func NewHub(cfg HubConfig) *Hub {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		cfg:        cfg,
		ring:       make([]Alert, cfg.Keep),
		ringSeq:    make([]uint64, cfg.Keep),
		folds:      make(map[dedupeKey]fold),
		subs:       make(map[*subscriber]struct{}),
		done:       make(chan struct{}),
		stats:      HubStats{ByKind: make(map[Kind]uint64)},
		sinkCtx:    ctx,
		sinkCancel: cancel,
	}
}

// Raise validates a, fills its id (a sortable ULID) and time when empty and
// its action with none, then either folds it into the previous alert of the
// same (kind, subject, ip) within the dedupe window — adding to that alert's
// evidence "repeats" and "last_seen" — or stores it and delivers it to every
// subscriber and sink. An alert whose severity or action is stronger than
// the previous one's is never folded: escalation is news. Raise returns the
// alert as stored (the earlier one when folded) and whether it folded.
func (h *Hub) Raise(a Alert) (Alert, bool, error) {
	if a.Action == "" {
		a.Action = ActionNone
	}
	if err := a.Validate(); err != nil {
		return Alert{}, false, fmt.Errorf("raise alert: %w", err)
	}
	a = a.clone()
	if a.Time.IsZero() {
		a.Time = h.cfg.Now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	key := dedupeKey{a.Kind, a.Subject, a.IP}
	if prev, ok := h.foldInto(key, a); ok {
		return prev, true, nil
	}
	if a.ID == "" {
		a.ID = h.ids.next(a.Time)
	}
	h.store(key, a)
	h.deliver(a)
	return a, false, nil
}

// foldInto folds a into the stored alert of key when the window allows.
func (h *Hub) foldInto(key dedupeKey, a Alert) (Alert, bool) {
	f, ok := h.folds[key]
	if !ok || h.cfg.DedupeWindow < 0 || !a.Time.Before(f.until) {
		return Alert{}, false
	}
	slot := f.seq % uint64(len(h.ring))
	prev := h.ring[slot]
	if h.ringSeq[slot] != f.seq+1 || a.Severity.rank() > prev.Severity.rank() ||
		a.Action.rank() > prev.Action.rank() {
		return Alert{}, false
	}
	f.repeats++
	h.folds[key] = f
	prev = prev.clone() // copy on write: alerts already handed out stay as they were
	prev.Evidence["repeats"] = f.repeats
	prev.Evidence["last_seen"] = a.Time.UTC()
	h.ring[slot] = prev
	h.stats.Folded++
	return prev, true
}

// store puts a in the ring, forgetting the fold of the alert it replaces.
func (h *Hub) store(key dedupeKey, a Alert) {
	slot := h.seq % uint64(len(h.ring))
	if old := h.ringSeq[slot]; old != 0 {
		evicted := h.ring[slot]
		oldKey := dedupeKey{evicted.Kind, evicted.Subject, evicted.IP}
		if f, ok := h.folds[oldKey]; ok && f.seq == old-1 {
			delete(h.folds, oldKey)
		}
	}
	h.ring[slot] = a
	h.ringSeq[slot] = h.seq + 1
	h.folds[key] = fold{seq: h.seq, until: a.Time.Add(h.cfg.DedupeWindow)}
	h.seq++
	h.stats.Raised++
	h.stats.ByKind[a.Kind]++
}

// deliver hands a to subscribers and sinks without waiting on any of them.
func (h *Hub) deliver(a Alert) {
	for s := range h.subs {
		select {
		case s.ch <- a:
		default:
			s.drops++
			h.stats.SubscriberDrops++
		}
	}
	for _, w := range h.sinks {
		if h.closed {
			h.stats.SinkDrops++
			continue
		}
		select {
		case w.queue <- a:
		default:
			h.stats.SinkDrops++
		}
	}
}

// Recent returns up to n of the kept alerts, newest first; n <= 0 means all.
func (h *Hub) Recent(n int) []Alert {
	h.mu.Lock()
	defer h.mu.Unlock()
	kept := int(min(h.seq, uint64(len(h.ring))))
	if n <= 0 || n > kept {
		n = kept
	}
	out := make([]Alert, 0, n)
	for i := range n {
		out = append(out, h.ring[(h.seq-1-uint64(i))%uint64(len(h.ring))])
	}
	return out
}

// Stats returns a copy of the hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.stats
	st.Subscribers = len(h.subs)
	st.ByKind = make(map[Kind]uint64, len(h.stats.ByKind))
	for k, v := range h.stats.ByKind {
		st.ByKind[k] = v
	}
	return st
}
