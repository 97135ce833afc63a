package gateway

import (
	"context"
	"time"

	"github.com/reelguard/reelguard/gateway/ratelimit"
)

// Guard makes the per-request decision after policy (block lists, jti
// revocation, the principal's limit, anomaly counters) and keeps the lists
// the admin API edits. With Redis it is one round trip per request.
type Guard interface {
	ratelimit.Checker
	Block(ctx context.Context, kind, value string, ttl time.Duration) error
	Unblock(ctx context.Context, kind, value string) error
	Revoke(ctx context.Context, sub, jti string, until time.Time) error
	Blocks() []ratelimit.Block
}

// NewMemoryGuard keeps everything in process: one replica, or tests.
func NewMemoryGuard() Guard { return memoryGuard{ratelimit.NewMemory(nil)} }

type memoryGuard struct{ *ratelimit.Memory }

func (g memoryGuard) Block(_ context.Context, kind, value string, ttl time.Duration) error {
	var until time.Time // zero: until unblocked
	if ttl > 0 {
		until = time.Now().Add(ttl)
	}
	g.DenyList().Block(kind, value, until)
	return nil
}

func (g memoryGuard) Unblock(_ context.Context, kind, value string) error {
	g.DenyList().Unblock(kind, value)
	return nil
}

func (g memoryGuard) Revoke(_ context.Context, _, jti string, until time.Time) error {
	g.DenyList().Revoke(jti, until)
	return nil
}

func (g memoryGuard) Blocks() []ratelimit.Block { return g.DenyList().Blocks() }

// NewRedisGuard decides through rl behind fallback (which must wrap rl and
// an in-process Memory sharing rl's deny list), and edits the lists in Redis.
func NewRedisGuard(rl *ratelimit.Redis, fallback *ratelimit.Fallback) Guard {
	return redisGuard{Fallback: fallback, rl: rl}
}

type redisGuard struct {
	*ratelimit.Fallback
	rl *ratelimit.Redis
}

func (g redisGuard) Block(ctx context.Context, kind, value string, ttl time.Duration) error {
	return g.rl.Block(ctx, kind, value, ttl)
}

func (g redisGuard) Unblock(ctx context.Context, kind, value string) error {
	return g.rl.Unblock(ctx, kind, value)
}

func (g redisGuard) Revoke(ctx context.Context, sub, jti string, until time.Time) error {
	return g.rl.Revoke(ctx, sub, jti, until)
}

func (g redisGuard) Blocks() []ratelimit.Block { return g.rl.DenyList().Blocks() }
