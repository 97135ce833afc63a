package events

import (
	"errors"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestReplay(t *testing.T) {
	s := newTestSigner(t, AlgHS256)
	v := newTestVerifier(t, s.VerifyKey())
	records := make([]*kgo.Record, replayWindow+5)
	for i := range records {
		records[i] = signedRecord(t, s) // seq i+1
	}
	verify := func(seq int) error { return v.Verify(records[seq-1]) }
	top := replayWindow + 5 // its window holds seqs 6..top
	steps := []struct {
		name string
		seq  int
		want error
	}{
		{"seq 3 first", 3, nil},
		{"seq 1 out of order within window", 1, nil},
		{"exact replay of seq 3", 3, ErrReplay},
		{"seq 2 still fresh", 2, nil},
		{"a jump slides the window", top, nil},
		{"unseen seq 5 now older than the window", 5, ErrReplay},
		{"unseen seq 6 is the oldest in the window", 6, nil},
		{"replay of seq 6", 6, ErrReplay},
		{"seq top-1 out of order", top - 1, nil},
		{"exact replay of the top", top, ErrReplay},
	}
	for _, st := range steps {
		if err := verify(st.seq); !errors.Is(err, st.want) {
			t.Fatalf("%s: Verify = %v, want %v", st.name, err, st.want)
		}
	}
}

func TestReplayWindowNotMovedByForgery(t *testing.T) {
	s := newTestSigner(t, AlgEdDSA)
	v := newTestVerifier(t, s.VerifyKey())
	r := signedRecord(t, s)
	forged := signedRecord(t, s)
	setHeader(forged, HeaderSeq, "5000") // sig no longer matches
	if err := v.Verify(forged); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forged: %v", err)
	}
	if err := v.Verify(r); err != nil {
		t.Fatalf("genuine seq 1 after a forged seq 5000: %v", err)
	}
}

func TestReplayGuardEvictsLeastRecent(t *testing.T) {
	g := newReplayGuard(2)
	for _, pid := range []string{"a", "b"} {
		if !g.accept(pid, 1) {
			t.Fatalf("first %s rejected", pid)
		}
	}
	g.accept("a", 2) // a is now most recent
	g.accept("c", 1) // evicts b
	if g.accept("a", 1) {
		t.Fatal("a forgot its window")
	}
	if !g.accept("b", 1) {
		t.Fatal("b was expected to be evicted and start afresh")
	}
	if len(g.byPID) != 2 || g.lru.Len() != 2 {
		t.Fatalf("tracking %d/%d pids, want 2", len(g.byPID), g.lru.Len())
	}
}

func TestVerifyConcurrentReplays(t *testing.T) {
	s := newTestSigner(t, AlgHS256)
	v := newTestVerifier(t, s.VerifyKey())
	records := make([]*kgo.Record, 200)
	for i := range records {
		records[i] = signedRecord(t, s)
	}
	var mu sync.Mutex
	accepted := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range records {
				if v.Verify(r) == nil {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if accepted != len(records) {
		t.Fatalf("accepted %d records from 4 racing readers, want each once: %d", accepted, len(records))
	}
}

// TestWindowMatchesModel checks the bitmap window against a plain set: a
// seq is new when unseen and within replayWindow of the highest seen.
func TestWindowMatchesModel(t *testing.T) {
	var w window
	seen := map[uint64]bool{}
	var highest uint64
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := range 20000 {
		seq := highest + 1 + uint64(rng.IntN(40))
		if rng.IntN(3) > 0 && highest > 0 {
			seq = 1 + uint64(rng.Int64N(int64(highest))) // an older seq, maybe outside the window
			if rng.IntN(50) == 0 {
				seq += uint64(rng.IntN(3000)) // an occasional jump ahead
			}
		}
		want := !seen[seq] && (seq > highest || highest-seq < replayWindow)
		if got := w.accept(seq); got != want {
			t.Fatalf("step %d: accept(%d) with highest %d = %v, want %v", i, seq, highest, got, want)
		}
		if want {
			seen[seq] = true
			highest = max(highest, seq)
		}
	}
}

// TestWindowJumps fills a window, jumps ahead, and checks every seq the new
// window covers is accepted exactly once and the one below it is not.
func TestWindowJumps(t *testing.T) {
	for _, jump := range []uint64{1, 63, 64, 500, 1023, 1024, 1025, 5000} {
		t.Run(strconv.FormatUint(jump, 10), func(t *testing.T) {
			var w window
			for s := uint64(1); s <= replayWindow+100; s++ {
				w.accept(s)
			}
			top := w.max + jump
			if !w.accept(top) {
				t.Fatalf("jump to %d rejected", top)
			}
			for s := top - replayWindow + 1; s < top; s++ {
				fresh := s > replayWindow+100
				if got := w.accept(s); got != fresh {
					t.Fatalf("accept(%d) after jump to %d = %v, want %v", s, top, got, fresh)
				}
			}
			if w.accept(top - replayWindow) {
				t.Fatalf("accept(%d) below the window of %d", top-replayWindow, top)
			}
		})
	}
}
