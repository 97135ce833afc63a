package policy

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// decisionPath is the decision log's "path" field: the document decided.
const decisionPath = "reelguard/authz/decision"

// DecisionRecord is one line of the decision log, in the shape of OPA's
// decision logs.
type DecisionRecord struct {
	DecisionID string            `json:"decision_id"`
	Timestamp  time.Time         `json:"timestamp"`
	Path       string            `json:"path"`
	Revision   string            `json:"revision"`
	Labels     map[string]string `json:"labels,omitempty"`
	Input      Input             `json:"input"`
	Result     Decision          `json:"result"`
	// Error is the evaluation error, if any (Result then denies).
	Error string `json:"error,omitempty"`
	// Erased lists the input fields redacted, as JSON pointers.
	Erased []string `json:"erased,omitempty"`
}

// DecisionSink receives each decision record, redacted, off the request
// path (from the log's writer goroutine): it must not block for long, nor
// modify the record's maps (its labels are shared by every record).
type DecisionSink interface {
	Log(DecisionRecord)
}

// DecisionLogConfig configures a DecisionLog. The zero value logs to no
// file and keeps the last 1000 inputs for replay.
type DecisionLogConfig struct {
	// Path of the JSON-lines file; empty: no file.
	Path string
	// MaxBytes rotates the file to Path+".1" past this size; default 64 MiB.
	MaxBytes int64
	// Keep is how many recent inputs are kept for replay; default 1000.
	Keep int
	// Buffer is the queue length; a record arriving at a full queue is
	// dropped and counted. Default 4096.
	Buffer int
	// Instance labels each record (labels.id); default the host name.
	Instance string
	// Sinks also receive every record (e.g. a Kafka producer of topic
	// decisions).
	Sinks []DecisionSink
	// Logger reports write errors; nil discards.
	Logger *slog.Logger
}

// DecisionLog writes decision records off the request path and keeps the
// recent inputs for the edit gate's replay.
type DecisionLog struct {
	cfg     DecisionLogConfig
	queue   chan pending
	done    chan struct{}
	closing sync.Once
	ring    *inputRing
	file    *logFile // nil without Path
	written atomic.Uint64
	dropped atomic.Uint64
	// labels are every record's; shared, so sinks must not modify them.
	labels map[string]string

	every     time.Duration // decisionDrainEvery
	idleTicks int           // decisionIdleTicks
	wakes     atomic.Int64  // the writer's wake-ups (ticks and records after a pause)
}

// pending is what Decide hands over: the rest is built by the writer.
type pending struct {
	in       Input
	d        Decision
	revision string
	err      error
	at       time.Time
}

// DecisionLogStats counts records since start.
type DecisionLogStats struct {
	Written uint64 `json:"written"`
	Dropped uint64 `json:"dropped"`
}

// NewDecisionLog opens (appending) the log file, restores the replay ring
// from its last records and starts the writer. Close stops it.
func NewDecisionLog(cfg DecisionLogConfig) (*DecisionLog, error) {
	return newDecisionLog(cfg, decisionDrainEvery, decisionIdleTicks)
}

func newDecisionLog(cfg DecisionLogConfig, every time.Duration, idleTicks int) (*DecisionLog, error) {
	cfg = cfg.withDefaults()
	l := &DecisionLog{labels: map[string]string{"id": cfg.Instance, "app": "reelguard"},
		cfg:       cfg,
		queue:     make(chan pending, cfg.Buffer),
		done:      make(chan struct{}),
		ring:      newInputRing(cfg.Keep),
		every:     every,
		idleTicks: idleTicks,
	}
	if cfg.Path != "" {
		recent, err := ReadDecisionLog(cfg.Path, cfg.Keep)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("decision log: %w", err)
		}
		for _, r := range recent {
			l.ring.add(r.Input)
		}
		if l.file, err = openLogFile(cfg.Path, cfg.MaxBytes); err != nil {
			return nil, fmt.Errorf("decision log: %w", err)
		}
	}
	go l.run()
	return l, nil
}

func (c DecisionLogConfig) withDefaults() DecisionLogConfig {
	if c.MaxBytes <= 0 {
		c.MaxBytes = 64 << 20
	}
	if c.Keep <= 0 {
		c.Keep = 1000
	}
	if c.Buffer <= 0 {
		c.Buffer = 4096
	}
	if c.Instance == "" {
		c.Instance, _ = os.Hostname()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Record queues one decision without waiting; a full queue drops it.
func (l *DecisionLog) Record(in Input, d Decision, revision string, err error) {
	select {
	case l.queue <- pending{in: in, d: d, revision: revision, err: err, at: time.Now()}:
	default:
		l.dropped.Add(1)
	}
}

// Inputs are the recent inputs, oldest first.
func (l *DecisionLog) Inputs() []Input { return l.ring.snapshot() }

// Stats counts records written and dropped.
func (l *DecisionLog) Stats() DecisionLogStats {
	return DecisionLogStats{Written: l.written.Load(), Dropped: l.dropped.Load()}
}

// Close writes what is queued, stops the writer and closes the file.
// Record must not be called after Close.
func (l *DecisionLog) Close() error {
	l.closing.Do(func() { close(l.queue) })
	<-l.done
	if l.file != nil {
		return l.file.close()
	}
	return nil
}

// decisionFlushEvery is how long written records may wait in the file's
// buffer. Flushing whenever the queue ran empty cost a write(2) per
// decision at moderate rates, on the cores that serve the requests; like
// OPA's own decision logs, the file is written in batches. Close flushes.
const decisionFlushEvery = 100 * time.Millisecond

// decisionDrainEvery is how often the writer takes the queued records. Woken
// by each record instead, it would be one more goroutine readied on every
// request, scheduled ahead of the request's own remaining steps.
const decisionDrainEvery = 10 * time.Millisecond

// decisionIdleTicks: once this many ticks in a row (a second) found the
// queue empty, and everything written is flushed, the writer stops ticking
// and waits on the queue itself, so an idle gateway wakes for nothing. The
// first decision after the pause readies the writer, once per pause, and
// the ticks resume.
const decisionIdleTicks = 100

// run is the writer goroutine.
func (l *DecisionLog) run() {
	defer close(l.done)
	tick := time.NewTicker(l.every)
	defer tick.Stop()
	dirty, flushed := false, time.Now()
	for empty := 0; ; {
		if empty < l.idleTicks || dirty {
			<-tick.C
		} else {
			tick.Stop()
			p, ok := <-l.queue
			if !ok {
				return
			}
			l.write(l.record(p))
			dirty = l.file != nil
			tick.Reset(l.every)
			empty = 0
		}
		l.wakes.Add(1)
		now := time.Now()
		n, open := l.drain()
		dirty = dirty || n > 0 && l.file != nil
		if dirty && (!open || now.Sub(flushed) >= decisionFlushEvery) {
			if err := l.file.flush(); err != nil {
				l.cfg.Logger.Warn("decision log flush", "err", err)
			}
			dirty, flushed = false, now
		}
		if !open {
			return
		}
		if n == 0 {
			empty++
		} else {
			empty = 0
		}
	}
}

// drain writes every queued record and counts them; open is false once
// the queue is closed.
func (l *DecisionLog) drain() (n int, open bool) {
	for {
		select {
		case p, ok := <-l.queue:
			if !ok {
				return n, false
			}
			l.write(l.record(p))
			n++
		default:
			return n, true
		}
	}
}

// record builds the redacted record of p.
func (l *DecisionLog) record(p pending) DecisionRecord {
	r := DecisionRecord{
		DecisionID: newDecisionID(),
		Timestamp:  p.at.UTC(),
		Path:       decisionPath,
		Revision:   p.revision,
		Labels:     l.labels,
		Input:      p.in,
		Result:     p.d,
	}
	if p.err != nil {
		r.Error = p.err.Error()
	}
	r.Input.Suspicion, r.Erased = redact(p.in.Suspicion, "/input/suspicion", nil)
	return r
}

func (l *DecisionLog) write(r DecisionRecord) {
	l.ring.add(r.Input)
	if l.file != nil {
		if err := l.file.append(r); err != nil {
			l.cfg.Logger.Warn("decision log write", "err", err)
		}
	}
	for _, s := range l.cfg.Sinks {
		s.Log(r)
	}
	l.written.Add(1)
}

// newDecisionID is a random UUID (version 4), as OPA's decision ids.
func newDecisionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ReadDecisionLog reads the last n records (n <= 0: all) of the log at
// path, its rotated predecessor path+".1" first. Lines that do not parse
// are skipped: a crash can leave half a line.
func ReadDecisionLog(path string, n int) ([]DecisionRecord, error) {
	var out []DecisionRecord
	found := false
	for _, name := range []string{path + ".1", path} {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read decision log: %w", err)
		}
		found = true
		out, err = readRecords(f, out, n)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read decision log %s: %w", name, err)
		}
	}
	if !found {
		return nil, fmt.Errorf("read decision log: %w", os.ErrNotExist)
	}
	return out, nil
}

// maxLogLine bounds one record; longer lines are skipped.
const maxLogLine = 1 << 20

// readRecords appends r's records to out, keeping the last n.
func readRecords(r io.Reader, out []DecisionRecord, n int) ([]DecisionRecord, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		if len(line) > 0 {
			if rec, ok := parseRecord(line); ok {
				out = append(out, rec)
				if n > 0 && len(out) > 2*n { // trim now and then, not per line
					out = append(out[:0], out[len(out)-n:]...)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, err
		}
	}
	if n > 0 && len(out) > n {
		out = append(out[:0], out[len(out)-n:]...)
	}
	return out, nil
}

// readLine reads one line; a line longer than maxLogLine is skipped whole.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) <= maxLogLine {
			line = append(line, chunk...)
		} else {
			line = line[:0:0]
			for errors.Is(err, bufio.ErrBufferFull) { // drain the rest
				_, err = br.ReadSlice('\n')
			}
			return nil, err
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}

// parseRecord decodes one log line; records without a decision id are not
// ours.
func parseRecord(line []byte) (DecisionRecord, bool) {
	var r DecisionRecord
	if err := json.Unmarshal(line, &r); err != nil || r.DecisionID == "" {
		return DecisionRecord{}, false
	}
	return r, true
}
