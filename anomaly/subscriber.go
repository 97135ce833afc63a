package anomaly

import "context"

// subscriber is one Subscribe call: a bounded channel the hub never waits on.
type subscriber struct {
	ch    chan Alert
	drops uint64
}

// Subscribe returns a channel that receives every new alert (folded repeats
// are not sent again) until ctx ends or the hub closes; then the channel is
// closed. The channel holds HubConfig.SubscriberBuffer alerts: a subscriber
// that falls further behind misses alerts, counted in Stats().SubscriberDrops.
// Server-sent event handlers pair it with Recent for the backlog.
func (h *Hub) Subscribe(ctx context.Context) <-chan Alert {
	s := &subscriber{ch: make(chan Alert, h.cfg.SubscriberBuffer)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(s.ch)
		return s.ch
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-h.done:
		}
		h.unsubscribe(s)
	}()
	return s.ch
}

// unsubscribe closes s's channel once, under the lock that guards sends.
func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}
