package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrInvalidBlock is returned for a block of an unknown kind, an empty
// value, or an IP entry that is neither an address nor a prefix.
var ErrInvalidBlock = errors.New("invalid block")

// BlockSyncEvery is how often Run refreshes the local copy of the block list.
const BlockSyncEvery = time.Second

// blockSync remembers which version of the shared block list the local copy
// holds, so an unchanged list costs one GET per sync.
type blockSync struct {
	mu      sync.Mutex
	version string
	loaded  bool
}

// blocksKey is the hash holding the whole block list, field "<kind>:<value>"
// and value the expiry in Unix ms (0: none). It has its own hash tag: it is
// read by the background sync, never in a request's round trip.
func (l *Redis) blocksKey() string        { return l.prefix + ":{blocks}" }
func (l *Redis) blocksVersionKey() string { return l.prefix + ":{blocks}:v" }

// subjectBlockKey is read by checkScript, so it carries the subject's tag.
func (l *Redis) subjectBlockKey(sub string) string {
	return l.prefix + ":block:{sub:" + sub + "}"
}

func (l *Redis) revokedKey(sub, jti string) string {
	return l.prefix + ":jti:{sub:" + sub + "}:" + jti
}

// Block puts value on the shared block list for ttl (0: until unblocked):
// at once in this process, within BlockSyncEvery in the other replicas'
// local copies, and for subjects at once in every replica's Check.
func (l *Redis) Block(ctx context.Context, kind, value string, ttl time.Duration) error {
	value, err := validBlock(kind, value)
	if err != nil {
		return err
	}
	var until time.Time
	if ttl > 0 {
		until = l.now().Add(ttl)
	}
	if kind == KindSubject {
		if err := l.client.Set(ctx, l.subjectBlockKey(value), 1, max(ttl, 0)).Err(); err != nil {
			return fmt.Errorf("block subject in redis: %w", err)
		}
	}
	var ms int64
	if !until.IsZero() {
		ms = until.UnixMilli()
	}
	_, err = l.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, l.blocksKey(), kind+":"+value, ms)
		p.Incr(ctx, l.blocksVersionKey())
		return nil
	})
	if err != nil {
		return fmt.Errorf("block in redis: %w", err)
	}
	l.deny.Block(kind, value, until)
	return nil
}

// Unblock removes value from the shared block list.
func (l *Redis) Unblock(ctx context.Context, kind, value string) error {
	value, err := validBlock(kind, value)
	if err != nil {
		return err
	}
	if kind == KindSubject {
		if err := l.client.Del(ctx, l.subjectBlockKey(value)).Err(); err != nil {
			return fmt.Errorf("unblock subject in redis: %w", err)
		}
	}
	_, err = l.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, l.blocksKey(), kind+":"+value)
		p.Incr(ctx, l.blocksVersionKey())
		return nil
	})
	if err != nil {
		return fmt.Errorf("unblock in redis: %w", err)
	}
	l.deny.Unblock(kind, value)
	return nil
}

// Revoke denies the token jti of subject sub until the given time (the
// token's expiry; zero or past: an hour). The key carries the subject's tag,
// so revoking needs the subject as well as the jti.
func (l *Redis) Revoke(ctx context.Context, sub, jti string, until time.Time) error {
	if sub == "" || jti == "" {
		return fmt.Errorf("%w: revoke needs a subject and a jti", ErrInvalidRequest)
	}
	ttl := until.Sub(l.now())
	if ttl <= 0 {
		ttl = maxCachedDenial
	}
	if err := l.client.Set(ctx, l.revokedKey(sub, jti), 1, ttl).Err(); err != nil {
		return fmt.Errorf("revoke in redis: %w", err)
	}
	l.deny.Revoke(jti, l.now().Add(ttl))
	return nil
}

// SyncBlocks refreshes the local copy of the block list when the shared one
// changed since the last sync.
func (l *Redis) SyncBlocks(ctx context.Context) error {
	l.blocks.mu.Lock()
	defer l.blocks.mu.Unlock()
	version, err := l.client.Get(ctx, l.blocksVersionKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("sync blocks: %w", err)
	}
	if l.blocks.loaded && version == l.blocks.version {
		return nil
	}
	fields, err := l.client.HGetAll(ctx, l.blocksKey()).Result()
	if err != nil {
		return fmt.Errorf("sync blocks: %w", err)
	}
	l.deny.replaceBlocks(l.liveBlocks(ctx, fields))
	l.blocks.version, l.blocks.loaded = version, true
	return nil
}

// liveBlocks parses the hash, deleting expired and malformed fields.
func (l *Redis) liveBlocks(ctx context.Context, fields map[string]string) []Block {
	now := l.now()
	var blocks []Block
	var stale []string
	for field, untilMs := range fields {
		kind, value, _ := strings.Cut(field, ":")
		ms, err := strconv.ParseInt(untilMs, 10, 64)
		if err != nil || (kind != KindIP && kind != KindSubject) {
			stale = append(stale, field)
			continue
		}
		b := Block{Kind: kind, Value: value}
		if ms > 0 {
			b.Until = time.UnixMilli(ms)
			if !b.Until.After(now) {
				stale = append(stale, field)
				continue
			}
		}
		blocks = append(blocks, b)
	}
	if len(stale) > 0 {
		// Best effort: a failure leaves entries the next sync skips again.
		_ = l.client.HDel(ctx, l.blocksKey(), stale...).Err()
	}
	return blocks
}

// Run syncs the block list every BlockSyncEvery until ctx ends; a failed
// sync keeps the last copy and is retried on the next tick. It returns nil
// when ctx ends, to fit an oklog/run group.
func (l *Redis) Run(ctx context.Context) error {
	tick := time.NewTicker(BlockSyncEvery)
	defer tick.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, BlockSyncEvery/2)
		_ = l.SyncBlocks(sctx)
		cancel()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func validBlock(kind, value string) (string, error) {
	switch {
	case value == "":
		return "", fmt.Errorf("%w: %s %q", ErrInvalidBlock, kind, value)
	case kind == KindSubject:
		return value, nil
	case kind != KindIP:
		return "", fmt.Errorf("%w: kind %q", ErrInvalidBlock, kind)
	}
	if _, err := netip.ParseAddr(value); err == nil {
		return normalize(KindIP, value), nil
	}
	if _, err := netip.ParsePrefix(value); err == nil {
		return normalize(KindIP, value), nil
	}
	return "", fmt.Errorf("%w: ip %q", ErrInvalidBlock, value)
}
