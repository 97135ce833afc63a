package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Rejected records go to their topic plus RejectedSuffix, with their
// original headers and these.
const (
	RejectedSuffix     = ".rejected"
	HeaderRejectReason = "reject-reason" // Reason(err)
	HeaderRejectSource = "reject-source" // topic/partition/offset it was read at
)

// Consumer defaults.
const (
	DefaultSaveInterval   = time.Second
	DefaultMaxPollRecords = 1000
	parallelVerifyMin     = 64
	maxHandlerBackoff     = 5 * time.Second
	shutdownTimeout       = 10 * time.Second
)

// ConsumerConfig configures a Consumer. Brokers, Group, Topics, Verifier
// and Handler are required; every other zero value works.
type ConsumerConfig struct {
	Brokers []string
	Group   string   // consumer group id
	Topics  []string // topics to verify and hand over
	// Verifier checks every record. The Consumer owns its replay windows:
	// do not share it.
	Verifier *Verifier
	// Handler gets each verified record, in order per partition. An error
	// is logged and the same record retried with backoff until Handler
	// returns nil or Run's context ends: offsets are committed only past
	// handled records, so delivery to Handler is at least once.
	Handler func(ctx context.Context, r *kgo.Record) error
	// OnReject, when set, is told of each rejected record once it is
	// handed to the producer for <topic>.rejected (the `signature` alert;
	// rate-limit it there).
	OnReject func(r *kgo.Record, reason string, err error)
	// StateFile keeps the replay windows across restarts; empty: not kept.
	StateFile string
	// SaveInterval is how often StateFile is written; default
	// DefaultSaveInterval (and always when Run returns).
	SaveInterval time.Duration
	// MaxPollRecords bounds one batch; default DefaultMaxPollRecords.
	MaxPollRecords int
	Logger         *slog.Logger // default: discard
}

// ConsumerStats counts records since the Consumer started.
type ConsumerStats struct {
	Valid    uint64            // verified and handled
	Rejected map[string]uint64 // by Reason
}

// Consumer reads topics in a consumer group and verifies every record:
// valid ones go to the Handler, the others to <topic>.rejected.
//
// The replay windows saved in StateFile never run ahead of the committed
// offsets (they are saved right after a commit), so records redelivered
// after a crash are not mistaken for replays; the price is that a replay
// of a record handled after the last save, arriving before it is consumed
// again, is not caught. Each Consumer's windows cover the partitions it
// reads; members of one group do not share them.
type Consumer struct {
	cfg    ConsumerConfig
	client *kgo.Client
	log    *slog.Logger

	valid    atomic.Uint64
	mu       sync.Mutex
	rejected map[string]uint64

	lastSave time.Time
	lastErr  atomic.Int64 // unix nanos of the last fetch error logged
}

// NewConsumer loads StateFile and makes the client; Run starts consuming.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new consumer: %w", err)
	}
	if cfg.StateFile != "" {
		if err := cfg.Verifier.LoadReplayState(cfg.StateFile); err != nil {
			return nil, fmt.Errorf("new consumer: %w", err)
		}
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.AllowAutoTopicCreation(),
	)
	if err != nil {
		return nil, fmt.Errorf("new consumer: %w", err)
	}
	return &Consumer{cfg: cfg, client: client, log: cfg.Logger, rejected: map[string]uint64{}, lastSave: time.Now()}, nil
}

func (cfg ConsumerConfig) withDefaults() (ConsumerConfig, error) {
	switch {
	case len(cfg.Brokers) == 0:
		return cfg, errors.New("no brokers")
	case cfg.Group == "" || len(cfg.Topics) == 0:
		return cfg, errors.New("no group or topics")
	case cfg.Verifier == nil || cfg.Handler == nil:
		return cfg, errors.New("no verifier or handler")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SaveInterval <= 0 {
		cfg.SaveInterval = DefaultSaveInterval
	}
	if cfg.MaxPollRecords <= 0 {
		cfg.MaxPollRecords = DefaultMaxPollRecords
	}
	return cfg, nil
}

// Stats returns the consumer's counters.
func (c *Consumer) Stats() ConsumerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ConsumerStats{Valid: c.valid.Load(), Rejected: maps.Clone(c.rejected)}
}

// Run consumes until ctx ends, then commits what was handled, saves the
// replay windows, leaves the group and closes the client. It returns nil
// when ctx ended, or an error the consumer cannot go on after.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.client.Close()
	for {
		fetches := c.client.PollRecords(ctx, c.cfg.MaxPollRecords)
		if fetches.IsClientClosed() {
			return errors.New("consumer: client closed")
		}
		fetches.EachError(c.logFetchError)
		done, stopped := c.process(ctx, fetches.Records())
		committed := c.commit(done)
		c.client.AllowRebalance()
		if stopped || ctx.Err() != nil {
			if committed {
				c.saveState()
			}
			return nil
		}
		if committed && time.Since(c.lastSave) >= c.cfg.SaveInterval {
			c.saveState()
		}
	}
}

// process verifies recs and dispatches them in order. It returns the
// records it is done with (handled or rejected), a prefix of recs, and
// whether ctx ended before the end.
func (c *Consumer) process(ctx context.Context, recs []*kgo.Record) ([]*kgo.Record, bool) {
	checks := c.checkAll(recs)
	v := c.cfg.Verifier
	for i, r := range recs {
		env, err := checks[i].env, checks[i].err
		if err == nil && !v.replay.fresh(env.pid, env.seqNum) {
			err = replayErr(env)
		}
		if err != nil {
			c.reject(ctx, r, err)
			continue
		}
		if !c.handle(ctx, r) {
			return recs[:i], true
		}
		v.replay.accept(env.pid, env.seqNum)
		c.valid.Add(1)
	}
	return recs, false
}

type checkResult struct {
	env envelope
	err error
}

// checkAll runs everything but the replay check, across the cores.
func (c *Consumer) checkAll(recs []*kgo.Record) []checkResult {
	out := make([]checkResult, len(recs))
	check := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i].env, out[i].err = c.cfg.Verifier.check(recs[i])
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if len(recs) < parallelVerifyMin || workers == 1 {
		check(0, len(recs))
		return out
	}
	var wg sync.WaitGroup
	chunk := (len(recs) + workers - 1) / workers
	for lo := 0; lo < len(recs); lo += chunk {
		wg.Go(func() { check(lo, min(lo+chunk, len(recs))) })
	}
	wg.Wait()
	return out
}

// handle calls the Handler until it succeeds or ctx ends.
func (c *Consumer) handle(ctx context.Context, r *kgo.Record) bool {
	backoff := 100 * time.Millisecond
	for {
		err := c.cfg.Handler(ctx, r)
		if err == nil {
			return true
		}
		c.log.Warn("event handler failed; retrying", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return false
		}
		backoff = min(2*backoff, maxHandlerBackoff)
	}
}

// reject sends r to <topic>.rejected, counts it and reports it.
func (c *Consumer) reject(ctx context.Context, r *kgo.Record, err error) {
	reason := Reason(err)
	headers := make([]kgo.RecordHeader, 0, len(r.Headers)+2)
	headers = append(headers, r.Headers...)
	source := r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "/" + strconv.FormatInt(r.Offset, 10)
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderRejectReason, Value: []byte(reason)},
		kgo.RecordHeader{Key: HeaderRejectSource, Value: []byte(source)})
	out := &kgo.Record{Topic: r.Topic + RejectedSuffix, Key: r.Key, Value: r.Value, Headers: headers}
	c.client.Produce(context.WithoutCancel(ctx), out, func(_ *kgo.Record, perr error) {
		if perr != nil {
			c.log.Error("rejected event not written to its .rejected topic", "topic", out.Topic, "reason", reason, "err", perr)
		}
	})
	c.mu.Lock()
	c.rejected[reason]++
	c.mu.Unlock()
	c.log.Warn("event rejected", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "reason", reason, "err", err)
	if c.cfg.OnReject != nil {
		c.cfg.OnReject(r, reason, err)
	}
}

// commit waits for the rejected records to be written, then commits
// done's offsets. It reports whether the commit succeeded.
func (c *Consumer) commit(done []*kgo.Record) bool {
	if len(done) == 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := c.client.Flush(ctx); err != nil {
		c.log.Error("rejected events not flushed", "err", err)
	}
	if err := c.client.CommitRecords(ctx, done...); err != nil {
		c.log.Warn("offset commit failed; records will be handled again", "err", err)
		return false
	}
	return true
}

func (c *Consumer) saveState() {
	c.lastSave = time.Now()
	if c.cfg.StateFile == "" {
		return
	}
	if err := c.cfg.Verifier.SaveReplayState(c.cfg.StateFile); err != nil {
		c.log.Error("replay windows not saved", "err", err)
	}
}

func (c *Consumer) logFetchError(topic string, partition int32, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	now := time.Now().UnixNano()
	last := c.lastErr.Load()
	if now-last < int64(failureLogInterval) || !c.lastErr.CompareAndSwap(last, now) {
		return
	}
	c.log.Warn("event fetch failed", "topic", topic, "partition", partition, "err", err)
}
