package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer defaults.
const (
	DefaultBuffer       = 10000
	DefaultFlushTimeout = 5 * time.Second
	produceLinger       = 5 * time.Millisecond
	deliveryTimeout     = 30 * time.Second
	failureLogInterval  = 10 * time.Second
)

// ProducerConfig configures a Producer. Brokers and Signer are required.
type ProducerConfig struct {
	Brokers      []string      // seed brokers, host:port
	Signer       *Signer       // signs every record as it is handed to the client
	Logger       *slog.Logger  // default: discard
	Buffer       int           // records queued before Send drops; default DefaultBuffer
	FlushTimeout time.Duration // how long Close waits for delivery; default DefaultFlushTimeout
}

// ProducerStats counts records since the Producer started.
type ProducerStats struct {
	Sent    uint64 // acknowledged by all in-sync replicas
	Failed  uint64 // given up by the client (delivery timeout, close, broker error)
	Dropped uint64 // refused by Send: queue full or producer closed
}

// Producer sends signed records through a franz-go client (idempotent,
// acks=all). Send is best-effort for now: when the queue is full the record
// is dropped and counted, and records not delivered before Close's timeout
// are counted as failed. A durable disk spool will take their place.
type Producer struct {
	client       *kgo.Client
	signer       *Signer
	logger       *slog.Logger
	flushTimeout time.Duration

	mu     sync.RWMutex // guards closed and closing queue
	closed bool
	queue  chan *kgo.Record
	done   chan struct{} // closed when the signing loop has handed over every queued record

	ctx    context.Context // records' context; cancelled when Close gives up
	cancel context.CancelFunc

	inflight sync.WaitGroup // records handed to the client, awaiting their promise

	sent, failed, dropped atomic.Uint64
	lastFailLog           atomic.Int64 // unix nanos
}

// NewProducer connects lazily to cfg.Brokers and starts the signing loop.
func NewProducer(cfg ProducerConfig) (*Producer, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("new producer: no brokers")
	}
	if cfg.Signer == nil {
		return nil, errors.New("new producer: no signer")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = DefaultFlushTimeout
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(produceLinger),
		kgo.RecordDeliveryTimeout(deliveryTimeout),
		kgo.AllowAutoTopicCreation(),
	)
	if err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	p := newProducer(cfg, client)
	go p.loop()
	return p, nil
}

// newProducer builds a Producer without starting its loop.
func newProducer(cfg ProducerConfig, client *kgo.Client) *Producer {
	p := &Producer{
		client:       client,
		signer:       cfg.Signer,
		logger:       cfg.Logger,
		flushTimeout: cfg.FlushTimeout,
		queue:        make(chan *kgo.Record, cfg.Buffer),
		done:         make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

// Send queues a record for topic without blocking; it copies key and
// value. It returns false, and counts a drop, when the queue is full or the
// producer is closed.
func (p *Producer) Send(topic string, key, value []byte) bool {
	r := &kgo.Record{Topic: topic, Key: clone(key), Value: clone(value)}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if !p.closed {
		select {
		case p.queue <- r:
			return true
		default:
		}
	}
	p.dropped.Add(1)
	return false
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// loop signs each record as it leaves the queue, so sig-ts is the send
// time, and hands it to the client.
func (p *Producer) loop() {
	defer close(p.done)
	for r := range p.queue {
		if err := p.signer.Sign(r, time.Now()); err != nil {
			p.fail(r, err)
			continue
		}
		p.inflight.Add(1)
		p.client.Produce(p.ctx, r, p.delivered)
	}
}

func (p *Producer) delivered(r *kgo.Record, err error) {
	defer p.inflight.Done()
	if err != nil {
		p.fail(r, err)
		return
	}
	p.sent.Add(1)
}

// fail counts a failure and logs at most one per failureLogInterval.
func (p *Producer) fail(r *kgo.Record, err error) {
	n := p.failed.Add(1)
	now := time.Now().UnixNano()
	last := p.lastFailLog.Load()
	if now-last < int64(failureLogInterval) || !p.lastFailLog.CompareAndSwap(last, now) {
		return
	}
	p.logger.Warn("event not delivered", "topic", r.Topic, "err", err, "failed_total", n)
}

// Stats returns the producer's counters.
func (p *Producer) Stats() ProducerStats {
	return ProducerStats{Sent: p.sent.Load(), Failed: p.failed.Load(), Dropped: p.dropped.Load()}
}

// Close stops accepting records, waits up to the flush timeout for queued
// ones to be delivered, and closes the client. Records still undelivered
// are counted as failed before Close returns. Calling Close again returns
// nil.
func (p *Producer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.queue)
	p.mu.Unlock()

	timer := time.AfterFunc(p.flushTimeout, p.cancel)
	defer timer.Stop()
	<-p.done
	err := p.client.Flush(p.ctx)
	p.cancel()
	p.client.Close()  // fails what is still buffered
	p.inflight.Wait() // so Stats counts every record once Close returns
	if err != nil {
		return fmt.Errorf("close producer: flush: %w", err)
	}
	return nil
}
