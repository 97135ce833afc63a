package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIdleDecisionLogStopsTicking: after its idle ticks the writer wakes for
// nothing; the next decision is written and flushed to the file at once,
// and the writer ticks again until it is idle once more.
func TestIdleDecisionLogStopsTicking(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.log")
	l, err := newDecisionLog(DecisionLogConfig{Path: path, Instance: "gw-1"}, time.Millisecond, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	waitFor(t, func() bool { return l.wakes.Load() >= 5 })
	// Longer than decisionFlushEvery, so the next decision is flushed at once.
	time.Sleep(120 * time.Millisecond)
	if w := l.wakes.Load(); w != 5 {
		t.Fatalf("%d wake-ups after going idle at 5", w)
	}

	l.Record(Input{Principal: Principal{Sub: "42", Role: "user"}, Method: "GET", Path: []string{"recommend", "42"}},
		Decision{Allow: true, Reason: "allowed"}, "rev-1", nil)
	waitFor(t, func() bool {
		b, _ := os.ReadFile(path)
		return strings.Contains(string(b), `"rev-1"`)
	})
	// The decision's wake-up finds nothing more queued: with four empty
	// ticks after it, the writer is idle again.
	waitFor(t, func() bool { return l.wakes.Load() >= 10 })
	time.Sleep(50 * time.Millisecond)
	if w := l.wakes.Load(); w != 10 {
		t.Fatalf("%d wake-ups after the second pause, want 10", w)
	}
}
