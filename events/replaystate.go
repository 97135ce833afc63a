package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// maxSavedHoles bounds the unseen ranges saved per producer; beyond it the
// oldest are saved as seen, so a restart may reject a very late record as a
// replay but never accepts a replay.
const maxSavedHoles = 4096

// replayState is the file a Consumer keeps its replay windows in, so a
// restart does not reopen replays: per producer id (least recent first)
// the highest seq seen and the ranges of unseen seqs inside the window.
type replayState struct {
	Version   int             `json:"v"`
	Producers []producerState `json:"producers"`
}

type producerState struct {
	PID   string      `json:"pid"`
	Max   uint64      `json:"max"`
	Holes [][2]uint64 `json:"holes,omitempty"` // inclusive [from, to], ascending
}

// SaveReplayState writes the replay windows to path atomically (0600).
func (v *Verifier) SaveReplayState(path string) error {
	data, err := json.Marshal(v.replay.snapshot())
	if err != nil {
		return fmt.Errorf("save replay state: %w", err)
	}
	if err := writeAtomic(path, data, 0o600, true); err != nil {
		return fmt.Errorf("save replay state: %w", err)
	}
	return nil
}

// LoadReplayState replaces the replay windows with those saved in path; a
// missing file leaves them empty and is not an error.
func (v *Verifier) LoadReplayState(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load replay state: %w", err)
	}
	g, err := parseReplayState(data, v.replay.max)
	if err != nil {
		return fmt.Errorf("load replay state %s: %w", path, err)
	}
	v.replay.mu.Lock()
	v.replay.byPID, v.replay.lru = g.byPID, g.lru
	v.replay.mu.Unlock()
	return nil
}

func (g *replayGuard) snapshot() replayState {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := replayState{Version: 1, Producers: make([]producerState, 0, g.lru.Len())}
	for el := g.lru.Back(); el != nil; el = el.Prev() {
		w := el.Value.(*window)
		st.Producers = append(st.Producers, producerState{PID: w.pid, Max: w.max, Holes: w.holes()})
	}
	return st
}

// holes lists the unseen seqs in the window as ranges, newest kept when
// there are more than maxSavedHoles.
func (w *window) holes() [][2]uint64 {
	var out [][2]uint64
	from := uint64(1)
	if w.max >= replayWindow {
		from = w.max - replayWindow + 1
	}
	for seq := from; seq <= w.max; seq++ {
		word, mask := w.bit(seq)
		if mask == 1 && w.bits[word] == ^uint64(0) && seq+63 <= w.max {
			seq += 63 // a whole word seen
			continue
		}
		if w.bits[word]&mask != 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] == seq-1 {
			out[n-1][1] = seq
		} else {
			out = append(out, [2]uint64{seq, seq})
		}
	}
	if len(out) > maxSavedHoles {
		out = out[len(out)-maxSavedHoles:]
	}
	return out
}

// parseReplayState decodes a replay state file strictly.
func parseReplayState(data []byte, maxProducers int) (*replayGuard, error) {
	var st replayState
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data")
	}
	if st.Version != 1 {
		return nil, fmt.Errorf("version %d, want 1", st.Version)
	}
	g := newReplayGuard(maxProducers)
	for _, p := range st.Producers {
		w, err := p.window()
		if err != nil {
			return nil, err
		}
		if _, dup := g.byPID[p.PID]; dup {
			return nil, fmt.Errorf("pid %s twice", p.PID)
		}
		if g.lru.Len() >= g.max {
			oldest := g.lru.Back()
			delete(g.byPID, oldest.Value.(*window).pid)
			g.lru.Remove(oldest)
		}
		g.byPID[p.PID] = g.lru.PushFront(w)
	}
	return g, nil
}

// window rebuilds a window: everything up to Max seen but the holes.
func (p producerState) window() (*window, error) {
	if !isLowerHex(p.PID, 32) || p.Max < 1 {
		return nil, fmt.Errorf("producer %s: bad pid or max", quote(p.PID))
	}
	w := &window{pid: p.PID, max: p.Max}
	for i := range w.bits {
		w.bits[i] = ^uint64(0)
	}
	low := uint64(1)
	if p.Max >= replayWindow {
		low = p.Max - replayWindow + 1
	}
	prev := uint64(0)
	for _, h := range p.Holes {
		if h[0] > h[1] || h[0] < low || h[1] > p.Max || h[0] <= prev {
			return nil, fmt.Errorf("producer %s: bad hole [%d, %d]", p.PID, h[0], h[1])
		}
		for seq := h[0]; seq <= h[1]; seq++ {
			word, mask := w.bit(seq)
			w.bits[word] &^= mask
		}
		prev = h[1]
	}
	return w, nil
}
