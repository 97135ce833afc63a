package anomaly

import (
	"context"
	"errors"
	"fmt"
)

// Sink receives each new alert off the raising goroutine: the security-alerts
// topic, the Alertmanager webhook. Send may block (the hub gives every sink
// its own goroutine and bounded queue); ctx ends when the hub is closed and
// its drain deadline passes.
type Sink interface {
	Send(ctx context.Context, a Alert) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, a Alert) error

// Send calls f.
func (f SinkFunc) Send(ctx context.Context, a Alert) error { return f(ctx, a) }

var _ Sink = SinkFunc(nil)

// sinkWorker runs one sink from its queue.
type sinkWorker struct {
	name  string
	sink  Sink
	queue chan Alert
}

// AddSink starts delivering new alerts to s, named name in logs. It returns
// ErrClosed after Close.
func (h *Hub) AddSink(name string, s Sink) error {
	w := &sinkWorker{name: name, sink: s, queue: make(chan Alert, h.cfg.SinkQueue)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return fmt.Errorf("add sink %s: %w", name, ErrClosed)
	}
	h.sinks = append(h.sinks, w)
	h.sinkWG.Add(1)
	go h.runSink(w)
	return nil
}

func (h *Hub) runSink(w *sinkWorker) {
	defer h.sinkWG.Done()
	for a := range w.queue {
		err := w.sink.Send(h.sinkCtx, a)
		if err == nil {
			continue
		}
		h.mu.Lock()
		h.stats.SinkErrors++
		h.mu.Unlock()
		if !errors.Is(err, context.Canceled) {
			h.cfg.Logger.Warn("alert sink failed", "sink", w.name, "alert", a.ID,
				"kind", a.Kind, "err", err)
		}
	}
}

// Close stops delivery: subscriber channels close, sinks get what is already
// queued until ctx ends, after which their context is cancelled. Raise keeps
// storing alerts for Recent. Close returns ctx's error if the sinks had not
// drained in time.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.done)
	for _, w := range h.sinks {
		close(w.queue)
	}
	h.mu.Unlock()
	drained := make(chan struct{})
	go func() { h.sinkWG.Wait(); close(drained) }()
	select {
	case <-drained:
		h.sinkCancel()
		return nil
	case <-ctx.Done():
		h.sinkCancel()
		<-drained
		return fmt.Errorf("close alert hub: %w", ctx.Err())
	}
}
