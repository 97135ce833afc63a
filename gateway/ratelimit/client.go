package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrRedisURL is wrapped when NewRedisClient cannot use a URL.
var ErrRedisURL = errors.New("bad redis url")

// Request-path defaults for NewRedisClient: a Redis that does not answer
// within tens of milliseconds is treated as down (the Fallback's breaker
// takes over) rather than waited for.
const (
	DefaultRedisDialTimeout = 100 * time.Millisecond
	DefaultRedisIOTimeout   = 50 * time.Millisecond
	DefaultRedisPoolTimeout = 50 * time.Millisecond
)

// NewRedisClient connects to Redis as users run it, by URL:
//
//	redis://[user:pass@]host:port[/db]            one server (rediss:// for TLS, unix:// too)
//	redis://host:port?master_name=mymaster        Sentinel: host is a sentinel; more with &addr=
//	redis://host:port?addr=host2:port2            Cluster: two or more addresses
//	redis+cluster://host:port                     Cluster from one seed address
//
// Any go-redis option may be given as a query parameter (dial_timeout=50ms,
// pool_size=64, ...), and autopipeline=false turns off the shared
// pipelines (see pipelinedClient). Those not given get request-path values: dial
// DefaultRedisDialTimeout, reads and writes DefaultRedisIOTimeout, pool wait
// DefaultRedisPoolTimeout, no command retries (the breaker decides, a retry
// only doubles the wait), one dial attempt, a pool of 10 per CPU capped at
// twice that, and context deadlines honoured. Nothing is dialled yet.
// Close the client when done.
func NewRedisClient(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRedisURL, err)
	}
	q := u.Query()
	pipelined := true
	if v := q.Get("autopipeline"); v != "" {
		if pipelined, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("%w: autopipeline=%q: want true or false", ErrRedisURL, v)
		}
	}
	q.Del("autopipeline") // ours, not go-redis's
	u.RawQuery = q.Encode()
	c, err := newUniversalClient(u, q)
	if err != nil || !pipelined {
		return c, err
	}
	return autopipelined(c)
}

func newUniversalClient(u *url.URL, q url.Values) (redis.UniversalClient, error) {
	switch {
	case strings.HasSuffix(u.Scheme, "+cluster"):
		u.Scheme = strings.TrimSuffix(u.Scheme, "+cluster")
		return newClusterClient(u.String(), q)
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRedisURL, err)
		}
		clientOptions{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
			&o.MaxRetries, &o.DialerRetries, &o.PoolSize, &o.MaxActiveConns, &o.ContextTimeoutEnabled}.setDefaults(q)
		return redis.NewFailoverClient(o), nil
	case q.Has("addr"):
		return newClusterClient(u.String(), q)
	}
	o, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRedisURL, err)
	}
	clientOptions{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
		&o.MaxRetries, &o.DialerRetries, &o.PoolSize, &o.MaxActiveConns, &o.ContextTimeoutEnabled}.setDefaults(q)
	return redis.NewClient(o), nil
}

// pipelinedClient sends the commands of concurrent requests to Redis in
// shared pipelines (go-redis's blocking autopipeliner): each request still
// makes exactly one EVALSHA, but under load many travel in one write and
// one read. Measured under h2load, a request's Redis round trip cost the
// gateway about 60 µs of CPU unbatched and about 14 µs batched
// (BENCHMARKS.md). Commands are never retried (MaxRetries -1), so a
// batch's failure can never run a rate-limit script twice.
//
// The pipeliner passes each command between its own goroutines (the
// caller's, a writer's, a reader's), and when the gateway is not busy every
// hand-off wakes a parked thread: one call at a time every 2 ms, a script's
// round trip took p50 114–145 µs and p99 276–284 µs through the pipeliner
// against 69–86 µs and 197–199 µs when the caller wrote and read it itself
// on a pooled connection. So the scripts (EVALSHA, and EVAL after a NOSCRIPT) go through
// the pipeliner only while more than directCalls are in flight; fewer go
// straight on a pooled connection.
type pipelinedClient struct {
	*redis.AutoPipeliner
	base     redis.UniversalClient
	inFlight atomic.Int64
	// direct and pipelined count the scripts sent each way.
	direct, pipelined atomic.Int64
}

// directCalls is how many scripts may be in flight for the next one still
// to go straight: about one per core the gateway serves on.
var directCalls = int64(max(2, runtime.GOMAXPROCS(0)))

// route picks the client for one script call; done must be called after.
func (c *pipelinedClient) route() (client redis.Scripter, done func()) {
	if c.inFlight.Add(1) <= directCalls {
		c.direct.Add(1)
		return c.base, c.release
	}
	c.pipelined.Add(1)
	return c.AutoPipeliner, c.release
}

func (c *pipelinedClient) release() { c.inFlight.Add(-1) }

// EvalSha runs a loaded script, pipelined when many are in flight.
func (c *pipelinedClient) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	client, done := c.route()
	defer done()
	return client.EvalSha(ctx, sha1, keys, args...)
}

// Eval runs a script by its source, pipelined when many are in flight.
func (c *pipelinedClient) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	client, done := c.route()
	defer done()
	return client.Eval(ctx, script, keys, args...)
}

func autopipelined(c redis.UniversalClient) (redis.UniversalClient, error) {
	var ap *redis.AutoPipeliner
	var err error
	switch c := c.(type) {
	case *redis.Client:
		ap, err = c.AutoPipeline()
	case *redis.ClusterClient:
		ap, err = c.AutoPipeline()
	default:
		return c, nil
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("redis autopipeline: %w", err)
	}
	return &pipelinedClient{AutoPipeliner: ap, base: c}, nil
}

// Close stops the pipeliner and closes the connections under it.
func (c *pipelinedClient) Close() error {
	return errors.Join(c.AutoPipeliner.Close(), c.base.Close())
}

func newClusterClient(rawURL string, q url.Values) (redis.UniversalClient, error) {
	o, err := redis.ParseClusterURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRedisURL, err)
	}
	clientOptions{&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
		&o.MaxRetries, &o.DialerRetries, &o.PoolSize, &o.MaxActiveConns, &o.ContextTimeoutEnabled}.setDefaults(q)
	return redis.NewClusterClient(o), nil
}

// clientOptions points at the fields NewRedisClient sets, in whichever
// go-redis options struct the URL called for.
type clientOptions struct {
	dial, read, write, pool                   *time.Duration
	retries, dialRetries, poolSize, maxActive *int
	contextTimeouts                           *bool
}

// setDefaults gives each field its request-path default unless the URL's
// query q set it.
func (o clientOptions) setDefaults(q url.Values) {
	pool := 10 * runtime.GOMAXPROCS(0)
	durations := []struct {
		name  string
		field *time.Duration
		value time.Duration
	}{
		{"dial_timeout", o.dial, DefaultRedisDialTimeout},
		{"read_timeout", o.read, DefaultRedisIOTimeout},
		{"write_timeout", o.write, DefaultRedisIOTimeout},
		{"pool_timeout", o.pool, DefaultRedisPoolTimeout},
	}
	for _, d := range durations {
		if !q.Has(d.name) {
			*d.field = d.value
		}
	}
	ints := []struct {
		name  string
		field *int
		value int
	}{
		{"max_retries", o.retries, -1},
		{"dialer_retries", o.dialRetries, 1},
		{"pool_size", o.poolSize, pool},
		{"max_active_conns", o.maxActive, 2 * pool},
	}
	for _, i := range ints {
		if !q.Has(i.name) {
			*i.field = i.value
		}
	}
	if !q.Has("context_timeout_enabled") {
		*o.contextTimeouts = true
	}
}
