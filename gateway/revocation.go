package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelguard/reelguard/auth"
)

// Revocations is the jti deny list: in Redis when a client is given, so a
// revocation through one replica holds on all, with a local copy that also
// answers while Redis is unreachable (DESIGN.md's fail mode: keep serving,
// from local copies).
type Revocations struct {
	redis  redis.UniversalClient
	prefix string
	local  *auth.MemoryRevocations
	log    *slog.Logger
}

var _ auth.RevocationList = (*Revocations)(nil)

// maxLocalRevocations bounds the local copy.
const maxLocalRevocations = 100_000

// NewRevocations returns a deny list in Redis under prefix, or only in
// process when c is nil.
func NewRevocations(c redis.UniversalClient, prefix string, log *slog.Logger) *Revocations {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Revocations{redis: c, prefix: prefix, local: auth.NewMemoryRevocations(maxLocalRevocations), log: log}
}

func (r *Revocations) key(jti string) string { return r.prefix + ":revoked:{" + jti + "}" }

// Revoke denies jti until the given time (the token's expiry is enough).
func (r *Revocations) Revoke(ctx context.Context, jti string, until time.Time) error {
	if err := r.local.Revoke(jti, until); err != nil {
		return err
	}
	if r.redis == nil {
		return nil
	}
	if err := r.redis.Set(ctx, r.key(jti), 1, time.Until(until)).Err(); err != nil {
		return fmt.Errorf("revoke in redis: %w", err)
	}
	return nil
}

// Revoked answers from the local copy first, then Redis. A Redis failure
// leaves the local answer standing: logged, never an error to the request.
func (r *Revocations) Revoked(ctx context.Context, jti string) (bool, error) {
	if revoked, _ := r.local.Revoked(ctx, jti); revoked || r.redis == nil {
		return revoked, nil
	}
	n, err := r.redis.Exists(ctx, r.key(jti)).Result()
	if err != nil {
		r.log.Warn("revocation list in redis unreachable; using the local copy", "err", err)
		return false, nil
	}
	return n > 0, nil
}
