package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// classStats counts the outcomes of one traffic class: a status code or an
// error kind per request (or per connection, for the slow clients), and a
// duration per outcome (latency, or how long the server held a connection).
type classStats struct {
	name string

	mu       sync.Mutex
	outcomes map[string]int
	ok       int // 2xx answers
	total    int
	times    []time.Duration
}

func newClassStats(name string) *classStats {
	return &classStats{name: name, outcomes: make(map[string]int)}
}

// record notes one outcome; ok says whether it counts as a success.
func (s *classStats) record(outcome string, ok bool, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[outcome]++
	s.total++
	if ok {
		s.ok++
	}
	s.times = append(s.times, d)
}

// recordStatus notes an HTTP answer (2xx counts as success) or an error.
func (s *classStats) recordStatus(status int, err error, d time.Duration) {
	if err != nil {
		s.record("err:"+errKind(err), false, d)
		return
	}
	s.record(strconv.Itoa(status), status >= 200 && status < 300, d)
}

func (s *classStats) successRate() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total == 0 {
		return 0
	}
	return float64(s.ok) / float64(s.total)
}

// summary is a snapshot of classStats for the report.
type summary struct {
	name       string
	total, ok  int
	outcomes   map[string]int
	p50, p90   time.Duration
	p99, max   time.Duration
	hasSamples bool
}

func (s *classStats) summary() summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	times := slices.Clone(s.times)
	slices.Sort(times)
	sum := summary{name: s.name, total: s.total, ok: s.ok, outcomes: make(map[string]int, len(s.outcomes))}
	for k, v := range s.outcomes {
		sum.outcomes[k] = v
	}
	if len(times) > 0 {
		sum.hasSamples = true
		sum.p50, sum.p90 = percentile(times, 50), percentile(times, 90)
		sum.p99, sum.max = percentile(times, 99), times[len(times)-1]
	}
	return sum
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of sorted,
// which must be in ascending order; 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(float64(len(sorted))*p/100 - 1e-9)) // the epsilon keeps exact ranks exact
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// errKind names an error's cause in a few stable words for the report.
func errKind(err error) string {
	var ne net.Error
	var recErr tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.As(err, &certErr), errors.As(err, &recErr):
		return "tls"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, errBacklog):
		return "client_backlog"
	}
	return "other"
}
