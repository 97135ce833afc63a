package events

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Sender tuning.
const (
	maxInflight        = 10000 // records handed to the client, not yet acknowledged
	cursorSaveInterval = 250 * time.Millisecond
	minRetryBackoff    = 250 * time.Millisecond
	maxRetryBackoff    = 2 * time.Second
	parallelSignMin    = 64 // batches smaller than this are signed on one core
)

// flight is one record (or segment-end marker) the sender has read from
// the spool, in spool order, until everything before it is acknowledged.
type flight struct {
	seg        uint64
	start, end int64
	sealEnd    bool
	done       bool // acknowledged (or needs no delivery)
	failed     bool
}

// sender reads the spool in order, signs each record as it leaves (so
// sig-ts is the send time), and hands it to the client. Acknowledgements
// move the ack cursor over the contiguous acknowledged prefix; a sealed
// segment the cursor passes is deleted. When a delivery fails, the sender
// lets everything in flight settle, backs off, and reads again from the
// oldest unacknowledged record, skipping those acknowledged since.
type sender struct {
	p      *Producer
	reader *spoolReader
	sem    chan struct{}
	kick   chan struct{} // cap 1: a delivery failed
	idle   chan struct{} // cap 1: nothing is in flight any more

	mu       sync.Mutex
	pending  []*flight
	inflight int
	failed   bool
	cursor   spoolPos
	saved    spoolPos
	skip     map[spoolPos]bool // acknowledged before a rewind, by record start
}

func newSender(p *Producer) *sender {
	start := p.spool.start
	return &sender{
		p: p, reader: newSpoolReader(p.spool, start), cursor: start, saved: start,
		sem: make(chan struct{}, maxInflight), kick: make(chan struct{}, 1), idle: make(chan struct{}, 1),
	}
}

// run delivers until stop is closed.
func (s *sender) run(stop <-chan struct{}) {
	defer s.reader.close()
	backoff := minRetryBackoff
	for {
		if s.hasFailed() {
			if !s.rewind(stop, backoff) {
				return
			}
			backoff = min(2*backoff, maxRetryBackoff)
			continue
		}
		batch, err := s.reader.next()
		if err != nil {
			s.p.logger.Error("event spool: read failed", "err", err)
		}
		if len(batch) == 0 {
			select {
			case <-s.p.spool.wake:
			case <-s.kick:
			case <-stop:
				return
			case <-time.After(time.Second): // a read error: try again
			}
			continue
		}
		if !s.send(batch, stop) {
			return
		}
		if s.p.brokerUp.Load() {
			backoff = minRetryBackoff
		}
	}
}

// send signs batch and hands it to the client in order.
func (s *sender) send(batch []spooledRecord, stop <-chan struct{}) bool {
	records := make([]*kgo.Record, len(batch))
	s.mu.Lock()
	for i, sr := range batch {
		pos := spoolPos{seg: sr.seg, off: sr.start}
		if !sr.sealEnd && !s.skip[pos] {
			records[i] = &kgo.Record{Topic: sr.rec.topic, Key: sr.rec.key, Value: sr.rec.value, Headers: kafkaHeaders(sr.rec.headers)}
		}
		delete(s.skip, pos)
	}
	s.mu.Unlock()
	s.sign(records)
	for i, sr := range batch {
		fl := &flight{seg: sr.seg, start: sr.start, end: sr.end, sealEnd: sr.sealEnd, done: records[i] == nil}
		if fl.done {
			s.settle(fl, nil)
			continue
		}
		select {
		case s.sem <- struct{}{}:
		case <-stop:
			return false
		}
		s.mu.Lock()
		s.pending = append(s.pending, fl)
		s.inflight++
		s.mu.Unlock()
		s.p.client.Produce(s.p.ctx, records[i], func(_ *kgo.Record, err error) { s.delivered(fl, err) })
	}
	return true
}

// sign signs records (nil entries are skipped) across the cores.
func (s *sender) sign(records []*kgo.Record) {
	now := time.Now()
	signRange := func(rs []*kgo.Record) {
		for _, r := range rs {
			if r != nil {
				_ = s.p.signerFor(r.Topic).Sign(r, now) // fails only on fields over 4 GiB; the spool caps records
			}
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if len(records) < parallelSignMin || workers == 1 {
		signRange(records)
		return
	}
	var wg sync.WaitGroup
	chunk := (len(records) + workers - 1) / workers
	for lo := 0; lo < len(records); lo += chunk {
		wg.Go(func() { signRange(records[lo:min(lo+chunk, len(records))]) })
	}
	wg.Wait()
}

func (s *sender) delivered(fl *flight, err error) {
	<-s.sem
	if err != nil {
		s.p.deliveryFailed(err)
	} else {
		s.p.sent.Add(1)
		s.p.setBroker(true)
	}
	s.settle(fl, err)
}

// settle records fl's outcome and moves the ack cursor.
func (s *sender) settle(fl *flight, err error) {
	var release []uint64
	var acked int64
	s.mu.Lock()
	if fl.done {
		s.pending = append(s.pending, fl)
	} else {
		s.inflight--
		fl.done, fl.failed = err == nil, err != nil
		s.failed = s.failed || err != nil
	}
	for len(s.pending) > 0 && s.pending[0].done {
		head := s.pending[0]
		s.pending = s.pending[1:]
		s.cursor = spoolPos{seg: head.seg, off: head.end}
		if head.sealEnd {
			release = append(release, head.seg)
			s.cursor = spoolPos{seg: head.seg + 1}
		} else {
			acked++
		}
	}
	idle, failed := s.inflight == 0, s.failed
	s.mu.Unlock()
	s.p.spool.acked(acked)
	for _, id := range release {
		s.p.spool.release(id)
	}
	if failed {
		signal(s.kick)
	}
	if idle {
		signal(s.idle)
	}
	if len(release) > 0 || acked > 0 {
		s.p.stateChanged()
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (s *sender) hasFailed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// rewind waits for the records in flight to settle and for backoff, then
// moves the reader back to the oldest unacknowledged record.
func (s *sender) rewind(stop <-chan struct{}, backoff time.Duration) bool {
	for {
		s.mu.Lock()
		n := s.inflight
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-s.idle:
		case <-stop:
			return false
		}
	}
	select {
	case <-time.After(backoff):
	case <-stop:
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	from := s.cursor
	if len(s.pending) > 0 {
		from = spoolPos{seg: s.pending[0].seg, off: s.pending[0].start}
	}
	if s.skip == nil {
		s.skip = make(map[spoolPos]bool)
	}
	for _, fl := range s.pending {
		if fl.done && !fl.sealEnd {
			s.skip[spoolPos{seg: fl.seg, off: fl.start}] = true
		}
	}
	s.pending, s.failed = nil, false
	s.reader.seek(from)
	return true
}

// saveCursor persists the ack cursor when it moved.
func (s *sender) saveCursor() {
	s.mu.Lock()
	cur, saved := s.cursor, s.saved
	s.mu.Unlock()
	if cur == saved {
		return
	}
	if err := s.p.spool.saveCursor(cur); err != nil {
		s.p.logger.Warn("event spool: ack cursor not saved; a restart may resend records", "err", err)
		return
	}
	s.mu.Lock()
	s.saved = cur
	s.mu.Unlock()
}

// saveCursorLoop saves the cursor every cursorSaveInterval until stop.
func (s *sender) saveCursorLoop(ctx context.Context) {
	t := time.NewTicker(cursorSaveInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.saveCursor()
		case <-ctx.Done():
			return
		}
	}
}

// kafkaHeaders converts spooled headers (nil for none); Sign appends the
// envelope's after them and drops any that claim an envelope name.
func kafkaHeaders(hs []Header) []kgo.RecordHeader {
	if len(hs) == 0 {
		return nil
	}
	out := make([]kgo.RecordHeader, len(hs))
	for i, h := range hs {
		out[i] = kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)}
	}
	return out
}
