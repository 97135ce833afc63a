package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fallback timing: the popular list is refreshed every popularEvery, and
// retried every popularRetry until the first success. After breakerTrips
// consecutive upstream failures the breaker opens for breakerCooldown, in
// which requests get the fallback at once, then lets one request probe.
const (
	popularEvery    = 30 * time.Second
	popularRetry    = 2 * time.Second
	breakerTrips    = 5
	breakerCooldown = 5 * time.Second
	maxPopularBody  = 1 << 20
)

// popularList is the retrieval service's answer for a user it has never
// seen: the cached fallback, served to everyone while the service is down.
type popularList struct {
	Items []struct {
		ID    string  `json:"id"`
		Score float64 `json:"score"`
	} `json:"items"`
	Model string `json:"model"`
}

// fallback keeps the last good popular list.
type fallback struct {
	url    string
	client *http.Client
	list   atomic.Pointer[popularList]
}

// refresh fetches the popular list; a failure keeps the last good one.
func (f *fallback) refresh(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("popular list: upstream answered %d", resp.StatusCode)
	}
	var l popularList
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxPopularBody)).Decode(&l); err != nil {
		return fmt.Errorf("popular list: %w", err)
	}
	if len(l.Items) == 0 {
		return fmt.Errorf("popular list: empty")
	}
	f.list.Store(&l)
	return nil
}

// serve answers a recommendation request from the cached list, marked as a
// fallback; false when there is none yet.
func (f *fallback) serve(w http.ResponseWriter, r *http.Request) bool {
	l := f.list.Load()
	if l == nil {
		return false
	}
	h := w.Header()
	h.Set(fallbackHeader, "popular")
	if l.Model != "" {
		h.Set(modelHeader, l.Model)
	}
	h.Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]any{"user": r.PathValue("userid"), "items": l.Items,
			"model": l.Model, "fallback": true})
		return true
	}
	ids := make([]string, len(l.Items))
	for i, it := range l.Items {
		ids[i] = it.ID
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, strings.Join(ids, ",")+"\n")
	return true
}

// breaker stops sending requests to an upstream that keeps failing.
type breaker struct {
	mu        sync.Mutex
	failures  int
	openUntil time.Time
	probing   bool
}

// allow reports whether a request may go upstream: always while closed;
// while open, none until the cooldown ends, then one probe at a time.
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < breakerTrips {
		return true
	}
	if now.Before(b.openUntil) || b.probing {
		return false
	}
	b.probing = true
	return true
}

// closed reports whether the upstream is taken as healthy: fewer than
// breakerTrips failures in a row.
func (b *breaker) closed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures < breakerTrips
}

func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.probing = 0, false
}

// failure counts one, (re)opening the breaker at breakerTrips in a row.
func (b *breaker) failure(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	b.probing = false
	if b.failures >= breakerTrips {
		b.openUntil = now.Add(breakerCooldown)
	}
}

// Run keeps the fallback's popular list fresh until ctx ends; run it beside
// the servers.
func (g *Gateway) Run(ctx context.Context) error {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		rctx, cancel := context.WithTimeout(ctx, g.cfg.UpstreamTimeout)
		err := g.fallback.refresh(rctx)
		cancel()
		switch {
		case err == nil:
			wait = popularEvery
		case g.fallback.list.Load() == nil:
			g.log.Debug("no popular list for the fallback yet", "err", err)
			wait = popularRetry
		default:
			g.log.Warn("popular list not refreshed; keeping the last good one", "err", err)
			wait = popularEvery
		}
	}
}
