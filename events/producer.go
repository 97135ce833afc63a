package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer defaults.
const (
	DefaultBuffer          = 10000
	DefaultFlushTimeout    = 5 * time.Second
	DefaultDeliveryTimeout = 30 * time.Second
	DefaultSpoolMaxBytes   = 256 << 20
	// SpoolHighWater is the fill level (of SpoolMaxBytes) from which
	// State.Level is SpoolHigh.
	SpoolHighWater     = 0.8
	produceLinger      = 5 * time.Millisecond
	failureLogInterval = 10 * time.Second
)

// Producer errors.
var (
	// ErrSpoolFull: the spool is at SpoolMaxBytes; the record was not
	// taken (answer 503: nothing was acknowledged).
	ErrSpoolFull = errors.New("event spool is full")
	// ErrProducerClosed: Append after Close.
	ErrProducerClosed = errors.New("event producer is closed")
	// ErrRecordTooLarge: a record over the spool's 4 MiB limit.
	ErrRecordTooLarge = errors.New("event record too large")
	// ErrUndelivered: Close gave up with records still in the spool.
	ErrUndelivered = errors.New("events left undelivered")
)

// ProducerConfig configures a Producer. Brokers and Signer are required;
// every other zero value works.
type ProducerConfig struct {
	Brokers []string // seed brokers, host:port
	Signer  *Signer  // signs every record as it leaves the spool
	// TopicSigners sign the records of their topics instead of Signer:
	// the request log's HMAC key, for one (RequestLogKeyFile).
	TopicSigners map[string]*Signer
	Logger       *slog.Logger // default: discard
	// SpoolDir holds the durable spool (this instance's state folder).
	// Empty: a temporary folder that Close removes, so nothing survives
	// a crash; fine for tests and tools, not for a gateway.
	SpoolDir string
	// SpoolMaxBytes bounds the spool on disk; default DefaultSpoolMaxBytes.
	SpoolMaxBytes int64
	// Buffer is how many records Send may queue ahead of the spool writer
	// before it drops; default DefaultBuffer.
	Buffer int
	// FlushTimeout is how long Close waits for the spool to drain; default
	// DefaultFlushTimeout.
	FlushTimeout time.Duration
	// DeliveryTimeout is how long the client tries one send before the
	// record is sent again from the spool; default DefaultDeliveryTimeout,
	// at least a second.
	DeliveryTimeout time.Duration
	// OnState, when set, is called (from one goroutine at a time) when the
	// broker is lost or found again and when the spool's Level changes:
	// the gateway's `events` alert. Changes coalesce: it gets the state as
	// it is when it runs, so a spool filling fast may go from ok to full.
	OnState func(State)
}

// SpoolLevel is how full the spool is.
type SpoolLevel int

// Spool levels.
const (
	SpoolOK   SpoolLevel = iota
	SpoolHigh            // at least SpoolHighWater of SpoolMaxBytes
	SpoolFull            // a record was refused; until usage is back under the high water
)

func (l SpoolLevel) String() string {
	switch l {
	case SpoolOK:
		return "ok"
	case SpoolHigh:
		return "high"
	}
	return "full"
}

// State is what OnState reports.
type State struct {
	BrokerUp      bool // the last request to a broker succeeded (an idle producer asks them; see brokerProbeInterval)
	Level         SpoolLevel
	SpoolBytes    int64
	SpoolMaxBytes int64
	SpoolRecords  int64 // spooled, not yet acknowledged
}

// ProducerStats are the producer's counters and gauges.
type ProducerStats struct {
	Sent    uint64 // acknowledged by all in-sync replicas
	Failed  uint64 // delivery attempts that failed; the records are sent again from the spool
	Dropped uint64 // refused by Send: queue full, spool full or producer closed
	Refused uint64 // refused by Append with ErrSpoolFull

	SpoolBytes   int64 // spool size on disk
	SpoolRecords int64 // spooled, not yet acknowledged
	BrokerUp     bool
}

// Producer sends signed records through a franz-go client (idempotent,
// acks=all, batched, with a delivery timeout), behind a durable disk spool.
//
// Every record is first appended to the spool: Append returns once the
// record is fsynced (many concurrent Appends share one fsync); Send queues
// it for the spool writer without waiting. The sender reads the spool in
// order, signs each record as it leaves (so records sent after an outage
// carry a fresh sig-ts and the event's own time stays in the value), and
// deletes a segment once every record in it is acknowledged.
//
// Guarantees: a record for which Append returned nil survives kill -9 and
// is delivered after a restart on the same SpoolDir. While the process
// runs, the idempotent client delivers each record once, in order per
// partition. Across a crash delivery is at least once: records acknowledged
// after the last ack-cursor save (every 250 ms) are sent again, under a new
// sig-pid, so consumers do not see them as replays. A delivery timeout on a
// record whose fate is unknown to the client may likewise duplicate it, and
// a partition's retried records may follow later ones. Send's records are
// lost if the process dies before the spool writer's next fsync.
type Producer struct {
	cfg      ProducerConfig
	client   *kgo.Client
	signer   *Signer
	logger   *slog.Logger
	spool    *spool
	sender   *sender
	tempDir  bool
	brokerUp atomic.Bool
	// heard is when a request to a broker last ended, either way (unix
	// nanos); probeLoop asks the brokers when it is old.
	heard atomic.Int64

	mu     sync.RWMutex // guards closed and closing reqs
	closed bool
	reqs   chan appendReq

	ctx       context.Context // records' context; cancelled by Close
	cancel    context.CancelFunc
	stop      chan struct{}
	writerOut chan struct{} // closed when the appender has written every request
	senderOut chan struct{}
	states    chan struct{} // cap 1: something OnState may want changed
	stateOut  chan struct{}
	closing   atomic.Bool

	sent, failed, dropped, refused atomic.Uint64
	spoolFull                      atomic.Bool
	lastFailLog                    atomic.Int64 // unix nanos
}

// NewProducer opens the spool (sending what an earlier run left in it),
// connects lazily to cfg.Brokers and starts the writer and sender.
func NewProducer(cfg ProducerConfig) (*Producer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	p := &Producer{cfg: cfg, signer: cfg.Signer, logger: cfg.Logger}
	if p.cfg.SpoolDir == "" {
		if p.cfg.SpoolDir, err = os.MkdirTemp("", "reelguard-spool-*"); err != nil {
			return nil, fmt.Errorf("new producer: %w", err)
		}
		p.tempDir = true
	}
	segBytes := min(max(cfg.SpoolMaxBytes/16, 64<<10), 64<<20)
	if p.spool, err = openSpool(p.cfg.SpoolDir, cfg.SpoolMaxBytes, segBytes, cfg.Logger); err != nil {
		p.removeTemp()
		return nil, fmt.Errorf("new producer: %w", err)
	}
	if p.client, err = kgo.NewClient(p.clientOpts()...); err != nil {
		p.spool.closeWriter()
		p.removeTemp()
		return nil, fmt.Errorf("new producer: %w", err)
	}
	p.start()
	if _, n := p.spool.usage(); n > 0 {
		p.logger.Info("event spool: sending records left by an earlier run", "records", n)
	}
	return p, nil
}

// signerFor is the signer of topic's records.
func (p *Producer) signerFor(topic string) *Signer {
	if s, ok := p.cfg.TopicSigners[topic]; ok {
		return s
	}
	return p.signer
}

func (cfg ProducerConfig) withDefaults() (ProducerConfig, error) {
	if len(cfg.Brokers) == 0 {
		return cfg, errors.New("no brokers")
	}
	if cfg.Signer == nil {
		return cfg, errors.New("no signer")
	}
	for topic, s := range cfg.TopicSigners {
		if s == nil {
			return cfg, fmt.Errorf("no signer for topic %q", topic)
		}
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
	if cfg.DeliveryTimeout <= 0 {
		cfg.DeliveryTimeout = DefaultDeliveryTimeout
	}
	cfg.DeliveryTimeout = max(cfg.DeliveryTimeout, time.Second) // franz-go's floor
	if cfg.SpoolMaxBytes <= 0 {
		cfg.SpoolMaxBytes = DefaultSpoolMaxBytes
	}
	return cfg, nil
}

func (p *Producer) clientOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(p.cfg.Brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotence is franz-go's default and needs acks=all
		kgo.ProducerLinger(produceLinger),
		kgo.RecordDeliveryTimeout(p.cfg.DeliveryTimeout + produceLinger),
		kgo.MaxBufferedRecords(maxInflight + 1), // the sender bounds what it hands over
		kgo.AllowAutoTopicCreation(),
		// Find a returning broker within about a second, not the defaults'
		// five (metadata) plus 2.5 (backoff).
		kgo.MetadataMinAge(time.Second),
		kgo.RetryBackoffFn(func(tries int) time.Duration { return min(time.Duration(tries)*100*time.Millisecond, time.Second) }),
		kgo.WithHooks(brokerHook{p}),
	}
}

func (p *Producer) start() {
	p.brokerUp.Store(true)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.reqs = make(chan appendReq, p.cfg.Buffer)
	p.stop = make(chan struct{})
	p.writerOut, p.senderOut = make(chan struct{}), make(chan struct{})
	p.states, p.stateOut = make(chan struct{}, 1), make(chan struct{})
	p.sender = newSender(p)
	go func() { defer close(p.writerOut); p.appendLoop() }()
	go func() { defer close(p.senderOut); p.sender.run(p.stop) }()
	go p.sender.saveCursorLoop(p.ctx)
	go func() { defer close(p.stateOut); p.stateLoop() }()
	go p.probeLoop()
}

// brokerProbeInterval is how long the brokers may go unheard from before
// the producer asks them (franz-go's Ping, a broker-only Metadata request).
// Only requests report whether a broker answers, and an idle producer makes
// none: without the probe a broker down from the start would read as up
// until the first record, and one that came back as down until the next.
const brokerProbeInterval = 2 * time.Second

// probeLoop keeps BrokerUp true to the brokers while nothing is sent: it
// asks them at start and whenever they have been silent for
// brokerProbeInterval.
func (p *Producer) probeLoop() {
	t := time.NewTimer(0) // the state at start, at once
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-p.ctx.Done():
			return
		}
		if time.Since(time.Unix(0, p.heard.Load())) >= brokerProbeInterval {
			ctx, cancel := context.WithTimeout(p.ctx, brokerProbeInterval)
			err := p.client.Ping(ctx)
			cancel()
			if p.ctx.Err() != nil {
				return
			}
			p.heard.Store(time.Now().UnixNano())
			p.setBroker(err == nil)
		}
		t.Reset(brokerProbeInterval)
	}
}

func (p *Producer) removeTemp() {
	if p.tempDir {
		os.RemoveAll(p.cfg.SpoolDir)
	}
}

// Record is one record for AppendBatch.
type Record struct {
	Topic      string
	Key, Value []byte
	// Headers travel beside the envelope's. The v1 signature does not
	// cover them (DESIGN.md): they may only carry what a consumer can
	// afford to have mislabelled, such as the request log's model version.
	Headers []Header
}

// Header is one record header that is not part of the signed envelope.
type Header struct {
	Key, Value string
}

// Append spools a record for topic durably: when it returns nil the record
// is fsynced and will be delivered even if the process is killed. It
// returns ErrSpoolFull when the spool has no room (nothing was taken),
// ErrProducerClosed after Close, or ctx's error if ctx ends while waiting
// for room in the queue. Key and value are copied.
func (p *Producer) Append(ctx context.Context, topic string, key, value []byte) error {
	return p.AppendBatch(ctx, []Record{{Topic: topic, Key: key, Value: value}})
}

// AppendBatch is Append for several records, all or none (one POST /events
// request): they share one queue slot and one fsync.
func (p *Producer) AppendBatch(ctx context.Context, records []Record) error {
	var frames []byte
	for _, r := range records {
		var err error
		if frames, err = appendFrame(frames, &spoolRecord{topic: r.Topic, key: r.Key, value: r.Value, headers: r.Headers}); err != nil {
			return fmt.Errorf("append event: %w", err)
		}
	}
	if len(records) == 0 {
		return nil
	}
	req := appendReq{frame: frames, n: len(records), done: make(chan error, 1)}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return ErrProducerClosed
	}
	select {
	case p.reqs <- req:
	case <-ctx.Done():
		p.mu.RUnlock()
		return fmt.Errorf("append event: %w", ctx.Err())
	}
	p.mu.RUnlock()
	if err := <-req.done; err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

// Send queues a record for the spool without blocking: the best-effort
// path of the request log (gateway.RecordSink). It returns false, and
// counts a drop, when the queue is full or the producer is closed; a record
// the spool then has no room for is dropped and counted too.
func (p *Producer) Send(topic string, key, value []byte, headers ...Header) bool {
	frame, err := appendFrame(nil, &spoolRecord{topic: topic, key: key, value: value, headers: headers})
	if err == nil {
		p.mu.RLock()
		if !p.closed {
			select {
			case p.reqs <- appendReq{frame: frame, n: 1}:
				p.mu.RUnlock()
				return true
			default:
			}
		}
		p.mu.RUnlock()
	}
	p.dropped.Add(1)
	return false
}

// Stats returns the producer's counters.
func (p *Producer) Stats() ProducerStats {
	bytes, records := p.spool.usage()
	return ProducerStats{
		Sent: p.sent.Load(), Failed: p.failed.Load(), Dropped: p.dropped.Load(), Refused: p.refused.Load(),
		SpoolBytes: bytes, SpoolRecords: records, BrokerUp: p.brokerUp.Load(),
	}
}

// State returns the producer's current State.
func (p *Producer) State() State {
	bytes, records := p.spool.usage()
	st := State{BrokerUp: p.brokerUp.Load(), SpoolBytes: bytes, SpoolMaxBytes: p.cfg.SpoolMaxBytes, SpoolRecords: records}
	switch {
	case float64(bytes) < SpoolHighWater*float64(p.cfg.SpoolMaxBytes):
		p.spoolFull.Store(false)
	case p.spoolFull.Load():
		st.Level = SpoolFull
	default:
		st.Level = SpoolHigh
	}
	return st
}

// Close stops taking records, writes what Send queued to the spool, and
// waits up to FlushTimeout for the spool to drain. Records still spooled
// stay on disk for the next start (ErrUndelivered says how many), except
// with a temporary spool, where they count as failed. Calling Close again
// returns nil.
func (p *Producer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.reqs)
	p.mu.Unlock()
	<-p.writerOut
	p.waitDrained(p.cfg.FlushTimeout)
	p.closing.Store(true)
	close(p.stop)
	<-p.senderOut
	p.cancel()
	p.client.Close()
	p.sender.saveCursor()
	<-p.stateOut
	err := p.spool.closeWriter()
	_, left := p.spool.usage()
	if p.tempDir {
		p.failed.Add(uint64(left))
		p.removeTemp()
	}
	switch {
	case left > 0:
		return fmt.Errorf("close producer: %d records: %w", left, ErrUndelivered)
	case err != nil:
		return fmt.Errorf("close producer: %w", err)
	}
	return nil
}

// waitDrained waits until every spooled record is acknowledged or timeout.
func (p *Producer) waitDrained(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, n := p.spool.usage(); n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deliveryFailed counts a failed send and logs at most one per
// failureLogInterval.
func (p *Producer) deliveryFailed(err error) {
	if p.closing.Load() {
		return
	}
	n := p.failed.Add(1)
	p.setBroker(false)
	now := time.Now().UnixNano()
	last := p.lastFailLog.Load()
	if now-last < int64(failureLogInterval) || !p.lastFailLog.CompareAndSwap(last, now) {
		return
	}
	p.logger.Warn("event not delivered; it stays spooled and is sent again", "err", err, "failed_total", n)
}

func (p *Producer) setBroker(up bool) {
	if p.brokerUp.Swap(up) != up && !p.closing.Load() {
		p.stateChanged()
	}
}

// stateChanged asks the state loop to look at the State again.
func (p *Producer) stateChanged() {
	if p.cfg.OnState != nil && !p.closing.Load() {
		signal(p.states)
	}
}

// stateLoop calls OnState when BrokerUp or Level changed.
func (p *Producer) stateLoop() {
	last := State{BrokerUp: true}
	for {
		select {
		case <-p.states:
		case <-p.ctx.Done():
			return
		}
		st := p.State()
		if st.BrokerUp != last.BrokerUp || st.Level != last.Level {
			last = st
			p.cfg.OnState(st)
		}
	}
}

// brokerHook tracks whether the brokers answer.
type brokerHook struct{ p *Producer }

var _ kgo.HookBrokerE2E = brokerHook{}

func (h brokerHook) OnBrokerE2E(_ kgo.BrokerMetadata, _ int16, e2e kgo.BrokerE2E) {
	h.p.heard.Store(time.Now().UnixNano())
	h.p.setBroker(e2e.Err() == nil)
}
