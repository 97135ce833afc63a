package gateway

import (
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelguard/reelguard/events"
)

// countSink counts what it is sent.
type countSink struct{ n atomic.Int64 }

func (s *countSink) Send(string, []byte, []byte, ...events.Header) bool { s.n.Add(1); return true }

// TestIdleRequestLogStopsTicking: after its idle ticks the worker wakes for
// nothing, takes the next record at once, and then ticks again.
func TestIdleRequestLogStopsTicking(t *testing.T) {
	sink := &countSink{}
	cfg := Config{RequestLogTopic: "recommendations", ServerName: "test", RequestLogBuffer: 16}
	l := newPacedRequestLog(sink, cfg, NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), time.Millisecond, 5)
	defer l.close()

	waitUntil(t, "five empty ticks", func() bool { return l.wakes.Load() >= 5 })
	time.Sleep(50 * time.Millisecond) // fifty more ticks, were it still ticking
	if w := l.wakes.Load(); w != 5 {
		t.Fatalf("%d wake-ups after going idle at 5", w)
	}

	l.queue <- answered{user: "7", status: 200, body: []byte(`{"items":[]}`), start: time.Now()}
	waitUntil(t, "the record sent", func() bool { return sink.n.Load() == 1 })
	// The record's wake-up finds nothing more queued: with four empty ticks
	// after it, the worker is idle again.
	waitUntil(t, "ticking again, then idle again", func() bool { return l.wakes.Load() >= 10 })
	time.Sleep(50 * time.Millisecond)
	if w := l.wakes.Load(); w != 10 {
		t.Fatalf("%d wake-ups after the second pause, want 10", w)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
