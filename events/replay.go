package events

import (
	"container/list"
	"sync"
)

// replayWindow is the number of sequence numbers below the highest seen
// that a producer's records may still arrive at, out of order, and be
// accepted once each (IPsec's anti-replay window, RFC 4303 section 3.4.3).
//
// It is wide because one producer's records spread over partitions, and a
// consumer catching up after an outage may read one partition well ahead
// of another: a record more than replayWindow behind its producer's
// newest one is rejected as a replay. 8 KiB per producer id.
const replayWindow = 1 << 16

// defaultMaxProducers bounds how many producer ids a Verifier remembers; the
// least recently seen is forgotten first. Only authentic records create an
// entry, so this is about producer restarts, not attackers.
const defaultMaxProducers = 1024

// window tracks one producer id: the highest seq seen and, for the
// replayWindow seqs up to it, which were seen. Bit seq%replayWindow of
// bits stands for seq.
type window struct {
	pid  string
	max  uint64
	bits [replayWindow / 64]uint64
}

func (w *window) bit(seq uint64) (word int, mask uint64) {
	i := seq % replayWindow
	return int(i / 64), 1 << (i % 64)
}

// fresh reports whether seq would be accepted, without recording it.
func (w *window) fresh(seq uint64) bool {
	if seq > w.max {
		return true
	}
	if w.max-seq >= replayWindow {
		return false
	}
	word, mask := w.bit(seq)
	return w.bits[word]&mask == 0
}

// accept records seq and reports whether it is new.
func (w *window) accept(seq uint64) bool {
	if seq > w.max {
		// Forget the seqs that slide out: those that share a bit with
		// max+1..seq. Each seq is cleared once, so this is O(1) amortized.
		from := w.max + 1
		if seq-w.max > replayWindow {
			from = seq - replayWindow + 1
		}
		for s := from; s <= seq; s++ {
			word, mask := w.bit(s)
			w.bits[word] &^= mask
		}
		w.max = seq
	} else if w.max-seq >= replayWindow {
		return false
	}
	word, mask := w.bit(seq)
	if w.bits[word]&mask != 0 {
		return false
	}
	w.bits[word] |= mask
	return true
}

// replayGuard holds the windows of the most recently seen producer ids.
type replayGuard struct {
	mu    sync.Mutex
	max   int
	byPID map[string]*list.Element // of *window
	lru   list.List                // front: most recently used
}

func newReplayGuard(maxProducers int) *replayGuard {
	return &replayGuard{max: maxProducers, byPID: make(map[string]*list.Element)}
}

// accept reports whether (pid, seq) is new and remembers it.
func (g *replayGuard) accept(pid string, seq uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.windowLocked(pid).accept(seq)
}

// fresh reports whether (pid, seq) is new without remembering it.
func (g *replayGuard) fresh(pid string, seq uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	el, ok := g.byPID[pid]
	return !ok || el.Value.(*window).fresh(seq)
}

// windowLocked returns pid's window, made most recent (and created,
// evicting the least recent, when new).
func (g *replayGuard) windowLocked(pid string) *window {
	el, ok := g.byPID[pid]
	if ok {
		g.lru.MoveToFront(el)
	} else {
		if g.lru.Len() >= g.max {
			oldest := g.lru.Back()
			delete(g.byPID, oldest.Value.(*window).pid)
			g.lru.Remove(oldest)
		}
		el = g.lru.PushFront(&window{pid: pid})
		g.byPID[pid] = el
	}
	return el.Value.(*window)
}
