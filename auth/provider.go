package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for a zero JWKSConfig.
const (
	DefaultJWKSURLTTL   = 5 * time.Minute
	DefaultJWKSFileTTL  = 5 * time.Second
	DefaultJWKSCooldown = 10 * time.Second
	DefaultJWKSTimeout  = 5 * time.Second
)

// JWKSConfig tunes a JWKSProvider. The zero value works.
type JWKSConfig struct {
	// TTL is how long a set is used before the source is checked again (in
	// the background; verification never waits for it). Default 5m for a
	// URL, 5s for a file (a file check is a stat; it is re-read only when
	// it changed).
	TTL time.Duration
	// Cooldown is the least time between a fetch and one that an unknown kid
	// triggers; unknown kids inside it are refused at once. Default 10s.
	Cooldown time.Duration
	// Timeout bounds one fetch. Default 5s.
	Timeout time.Duration
	// MaxBytes bounds a URL's answer. Default 1 MiB (files: always 1 MiB).
	MaxBytes int64
	// HTTPClient fetches URLs. Default: TLS 1.2 or later, proxy from the
	// environment. Its redirects (at most 3) must pass the same URL checks.
	HTTPClient *http.Client
	// AllowLoopbackHTTP accepts http:// URLs whose host is the literal
	// 127.0.0.1 or ::1. For tests; default false: https only.
	AllowLoopbackHTTP bool
	// Logger receives failed refreshes. Default: discard.
	Logger *slog.Logger
}

func (c JWKSConfig) withDefaults(ttl time.Duration) JWKSConfig {
	if c.TTL <= 0 {
		c.TTL = ttl
	}
	if c.Cooldown <= 0 {
		c.Cooldown = DefaultJWKSCooldown
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultJWKSTimeout
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = maxJWKSSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// fetchFunc loads a fresh set; it may return cur when the source is unchanged.
type fetchFunc func(ctx context.Context, cur *JWKS) (*JWKS, error)

// JWKSProvider is a KeySource that loads a JWKS from a file or an HTTPS URL
// and keeps it fresh: checked again after a TTL, fetched again (at most once
// per cooldown, one fetch at a time however many requests ask) when a token
// names an unknown kid. A failed fetch keeps the last good set. Safe for
// concurrent use.
type JWKSProvider struct {
	source string // the path or URL, for logs and errors
	fetch  fetchFunc
	cfg    JWKSConfig
	now    func() time.Time

	set     atomic.Pointer[JWKS]
	staleAt atomic.Int64 // unix nanoseconds; Keys starts a background check after it

	mu        sync.Mutex
	inflight  chan struct{} // closed when the running fetch ends; nil when none runs
	attemptAt time.Time
	fetchedAt time.Time
	lastErr   error
}

func newProvider(ctx context.Context, source string, fetch fetchFunc, cfg JWKSConfig) (*JWKSProvider, error) {
	p := &JWKSProvider{source: source, fetch: fetch, cfg: cfg, now: time.Now}
	if err := p.Refresh(ctx); err != nil {
		return nil, err
	}
	if p.set.Load() == nil {
		return nil, fmt.Errorf("jwks %s: no key set", source) // unreachable: fetch succeeded
	}
	return p, nil
}

// Keys returns the current set. Once the TTL has passed it starts a
// background check, and answers the current set meanwhile.
func (p *JWKSProvider) Keys() *JWKS {
	if p.now().UnixNano() >= p.staleAt.Load() {
		p.mu.Lock()
		if p.inflight == nil && p.now().UnixNano() >= p.staleAt.Load() {
			p.startLocked()
		}
		p.mu.Unlock()
	}
	return p.set.Load()
}

// KeysFor fetches again for an unknown kid, unless a fetch ran less than a
// cooldown ago; joins the fetch in flight if there is one.
func (p *JWKSProvider) KeysFor(ctx context.Context, kid string) *JWKS {
	p.mu.Lock()
	if _, ok := p.set.Load().lookup(kid); ok {
		p.mu.Unlock() // another request's fetch brought it
		return p.set.Load()
	}
	done := p.inflight
	if done == nil {
		if p.now().Sub(p.attemptAt) < p.cfg.Cooldown {
			p.mu.Unlock()
			return p.set.Load()
		}
		done = p.startLocked()
	}
	p.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return p.set.Load()
}

// Refresh fetches now, ignoring TTL and cooldown (or joins the fetch in
// flight), and returns its error. The last good set stays on failure.
func (p *JWKSProvider) Refresh(ctx context.Context) error {
	p.mu.Lock()
	done := p.inflight
	if done == nil {
		done = p.startLocked()
	}
	p.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("refresh jwks %s: %w", p.source, ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// LastError is the error of the last fetch, nil when it succeeded.
func (p *JWKSProvider) LastError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// FetchedAt is when the current set was last fetched or confirmed unchanged.
func (p *JWKSProvider) FetchedAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetchedAt
}

// startLocked starts a fetch; the caller holds mu and no fetch runs.
func (p *JWKSProvider) startLocked() chan struct{} {
	done := make(chan struct{})
	p.inflight = done
	p.attemptAt = p.now()
	p.staleAt.Store(p.attemptAt.Add(p.cfg.TTL).UnixNano())
	go p.run(done)
	return done
}

// run performs one fetch under its own timeout, so a caller that stops
// waiting does not cancel it for the others.
func (p *JWKSProvider) run(done chan struct{}) {
	defer close(done)
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.Timeout)
	defer cancel()
	ks, err := p.fetch(ctx, p.set.Load())
	if err == nil && ks == nil {
		err = errors.New("empty key set")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight = nil
	if err != nil {
		p.lastErr = fmt.Errorf("refresh jwks %s: %w", p.source, err)
		p.cfg.Logger.Warn("jwks refresh failed; keeping the last good keys", "source", p.source, "err", err)
		return
	}
	p.lastErr = nil
	p.fetchedAt = p.now()
	p.staleAt.Store(p.fetchedAt.Add(p.cfg.TTL).UnixNano())
	p.set.Store(ks)
}
