package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// RevocationList answers whether a token id (jti) is on the deny list. The
// gateway keeps one in Redis; MemoryRevocations is the in-process one.
type RevocationList interface {
	Revoked(ctx context.Context, jti string) (bool, error)
}

var _ RevocationList = (*MemoryRevocations)(nil)

// CheckRevoked returns an error wrapping ErrRevoked (reason "token_revoked")
// when p's token is on list. An error of the list itself is returned wrapped,
// without ErrRevoked, for the caller to fail open or closed as it decides. A
// token without jti cannot be revoked by id and passes. Call it after
// Verify, per request: Verify's cache does not know about revocations.
func CheckRevoked(ctx context.Context, list RevocationList, p Principal) error {
	if list == nil || p.TokenID == "" {
		return nil
	}
	revoked, err := list.Revoked(ctx, p.TokenID)
	switch {
	case err != nil:
		return fmt.Errorf("check revocation: %w", err)
	case revoked:
		return fmt.Errorf("%w: jti %q", ErrRevoked, p.TokenID)
	}
	return nil
}

// ErrRevocationListFull: MemoryRevocations holds its maximum of live entries.
// It never drops a live entry to make room, which would un-revoke a token.
var ErrRevocationListFull = errors.New("revocation list full")

// DefaultMaxRevocations caps a MemoryRevocations made with max <= 0.
const DefaultMaxRevocations = 100_000

// MemoryRevocations is an in-process deny list of jtis, each kept until a
// given time (the token's exp: after it the token fails on its own). Safe for
// concurrent use.
type MemoryRevocations struct {
	mu      sync.Mutex
	max     int
	entries map[string]time.Time
	now     func() time.Time
}

// NewMemoryRevocations returns an empty list holding at most max live
// entries (DefaultMaxRevocations when max <= 0).
func NewMemoryRevocations(max int) *MemoryRevocations {
	if max <= 0 {
		max = DefaultMaxRevocations
	}
	return &MemoryRevocations{max: max, entries: make(map[string]time.Time), now: time.Now}
}

// Revoke denies jti until until. Revoking again keeps the later time.
func (m *MemoryRevocations) Revoke(jti string, until time.Time) error {
	if jti == "" {
		return errors.New("revoke: empty jti")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !until.After(now) {
		return nil // already expired: the token fails without us
	}
	if old, ok := m.entries[jti]; ok {
		m.entries[jti] = later(old, until)
		return nil
	}
	if len(m.entries) >= m.max {
		m.sweep(now)
		if len(m.entries) >= m.max {
			return fmt.Errorf("revoke: %w (%d entries)", ErrRevocationListFull, m.max)
		}
	}
	m.entries[jti] = until
	return nil
}

// Revoked reports whether jti is denied now. It never fails.
func (m *MemoryRevocations) Revoked(_ context.Context, jti string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.entries[jti]
	if !ok {
		return false, nil
	}
	if !m.now().Before(until) {
		delete(m.entries, jti)
		return false, nil
	}
	return true, nil
}

// Len counts the entries held, expired ones not yet swept included.
func (m *MemoryRevocations) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// sweep drops expired entries; the caller holds mu.
func (m *MemoryRevocations) sweep(now time.Time) {
	for jti, until := range m.entries {
		if !now.Before(until) {
			delete(m.entries, jti)
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
