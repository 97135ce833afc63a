package gateway

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reelguard/reelguard/events"
)

// requestLogCapture is how much of a recommendation response the request log
// keeps: 20 ids fit with room to spare, in either format.
const requestLogCapture = 8 << 10

// answered is one recommendation request as the request log sees it.
type answered struct {
	user        string
	status      int
	model       string // the X-Reelguard-Model that answered, if any
	fallback    bool   // answered from the gateway's fallback list
	contentType string
	body        []byte
	start       time.Time
	latency     time.Duration
}

// requestLog turns answered requests into course-format lines on Kafka. The
// request goroutine only enqueues; formatting and producing happen in one
// worker, so a slow or absent broker never slows a request.
type requestLog struct {
	sink    RecordSink
	topic   string
	server  string
	queue   chan answered
	metrics *Metrics
	log     *slog.Logger
	done    sync.WaitGroup
	once    sync.Once

	every     time.Duration // requestLogEvery
	idleTicks int           // requestLogIdleTicks
	wakes     atomic.Int64  // the worker's wake-ups (ticks and records after a pause)
}

func newRequestLog(sink RecordSink, cfg Config, m *Metrics, log *slog.Logger) *requestLog {
	return newPacedRequestLog(sink, cfg, m, log, requestLogEvery, requestLogIdleTicks)
}

func newPacedRequestLog(sink RecordSink, cfg Config, m *Metrics, log *slog.Logger, every time.Duration, idleTicks int) *requestLog {
	l := &requestLog{sink: sink, topic: cfg.RequestLogTopic, server: cfg.ServerName,
		queue: make(chan answered, cfg.RequestLogBuffer), metrics: m, log: log, every: every, idleTicks: idleTicks}
	if sink != nil {
		l.done.Add(1)
		go l.run()
	}
	return l
}

func (l *requestLog) add(user string, rec *recorder, start time.Time) {
	if l.sink == nil {
		return
	}
	h := rec.Header()
	a := answered{user: user, status: rec.status, model: h.Get(modelHeader), fallback: h.Get(fallbackHeader) != "",
		contentType: h.Get("Content-Type"), body: rec.body, start: start, latency: time.Since(start)}
	select {
	case l.queue <- a:
	default:
		l.metrics.requestLog.WithLabelValues("dropped").Inc()
	}
}

// requestLogEvery is how often the worker takes the queued records. Woken
// by each record instead, it would be one more goroutine readied on every
// request, on the cores serving it: scheduled ahead of the request's own
// remaining steps, it added its formatting and signing to the request's
// latency at moderate rates. The producer lingers 20 ms before a send
// anyway.
const requestLogEvery = 10 * time.Millisecond

// requestLogIdleTicks: once this many ticks in a row (a second) found the
// queue empty, the worker stops ticking and waits on the queue itself, so
// an idle gateway wakes for nothing. The first record after the pause
// readies the worker, once per pause, and the ticks resume.
const requestLogIdleTicks = 100

func (l *requestLog) run() {
	defer l.done.Done()
	tick := time.NewTicker(l.every)
	defer tick.Stop()
	for empty := 0; ; {
		if empty < l.idleTicks {
			<-tick.C
		} else {
			tick.Stop()
			a, ok := <-l.queue
			if !ok {
				return
			}
			l.produce(a)
			tick.Reset(l.every)
			empty = 0
		}
		l.wakes.Add(1)
		n, open := l.drain()
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

// drain produces every queued record and counts them; open is false once
// the queue is closed.
func (l *requestLog) drain() (n int, open bool) {
	for {
		select {
		case a, ok := <-l.queue:
			if !ok {
				return n, false
			}
			l.produce(a)
			n++
		default:
			return n, true
		}
	}
}

func (l *requestLog) produce(a answered) {
	line := l.format(a)
	if l.sink.Send(l.topic, []byte(a.user), []byte(line), a.headers()...) {
		l.metrics.requestLog.WithLabelValues("queued").Inc()
	} else {
		l.metrics.requestLog.WithLabelValues("dropped").Inc()
	}
}

// Request-log record headers: which model version produced the answer
// (what recommender monitor groups by), and whether the gateway's fallback
// answered. They are advisory, outside the v1 signature: a forged one can
// mislabel a monitor's per-version numbers, never add or change a record.
const (
	recordModelHeader    = "model"
	recordFallbackHeader = "fallback"
)

func (a answered) headers() []events.Header {
	var hs []events.Header
	if a.model != "" {
		hs = append(hs, events.Header{Key: recordModelHeader, Value: a.model})
	}
	if a.fallback {
		hs = append(hs, events.Header{Key: recordFallbackHeader, Value: "1"})
	}
	return hs
}

func (l *requestLog) close() {
	l.once.Do(func() {
		close(l.queue)
		l.done.Wait()
	})
}

func (l *requestLog) format(a answered) string {
	return events.Event{
		Time:    a.start.UTC(),
		User:    a.user,
		Kind:    events.Kind("recommendation"),
		Server:  l.server,
		Status:  a.status,
		Result:  resultIDs(a.contentType, a.body),
		Latency: a.latency,
	}.Line()
}

// resultIDs reads the movie ids back out of a recommendation response.
func resultIDs(contentType string, body []byte) []string {
	if strings.HasPrefix(contentType, "application/json") {
		var doc struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		if json.Unmarshal(body, &doc) != nil {
			return nil
		}
		ids := make([]string, 0, len(doc.Items))
		for _, it := range doc.Items {
			ids = append(ids, it.ID)
		}
		return ids
	}
	if !strings.HasPrefix(contentType, "text/plain") {
		return nil
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	return strings.Split(string(body), ",")
}
