package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws a one-line progress bar on standard error while training
// reads a file or iterates, redrawn in place with "\r". It draws only when
// standard error is a terminal: piped or redirected output (a log file, a
// test) gets the plain log lines alone. A nil or disabled *progress does
// nothing, so callers need no checks.
type progress struct {
	mu    sync.Mutex
	w     io.Writer // nil when disabled
	label string
	unit  string // "bytes" for sizes, otherwise the counted thing
	total int64
	start time.Time
	drawn time.Time // when the bar was last drawn; zero when none is shown
}

// redrawEvery throttles redraws: a terminal need not see every chunk.
const redrawEvery = 100 * time.Millisecond

// barWidth is the bar's length in characters.
const barWidth = 30

// newProgress returns a bar on w when w is a terminal, else a disabled one.
func newProgress(w io.Writer) *progress {
	if !isTerminal(w) {
		return &progress{}
	}
	return &progress{w: w}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// begin starts a new bar counting to total.
func (p *progress) begin(label, unit string, total int64) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.label, p.unit, p.total, p.start, p.drawn = label, unit, total, time.Now(), time.Time{}
}

// startedAt moves the bar's clock back to t, so that the estimate of the
// time left counts from the real work's start, not from preparations.
func (p *progress) startedAt(t time.Time) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start = t
}

// set moves the bar to done, redrawing at most every redrawEvery unless done
// reaches the total.
func (p *progress) set(done int64) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if done < p.total && !p.drawn.IsZero() && now.Sub(p.drawn) < redrawEvery {
		return
	}
	p.drawn = now
	fmt.Fprintf(p.w, "\r%s\x1b[K", formatProgress(p.label, p.unit, done, p.total, now.Sub(p.start)))
}

// logf writes one log line above the bar: it clears the bar, writes the
// line, and lets the next set redraw. Without a terminal it writes the line
// to w.
func (p *progress) logf(w io.Writer, format string, args ...any) {
	if p != nil && p.w != nil {
		p.mu.Lock()
		if !p.drawn.IsZero() {
			fmt.Fprint(p.w, "\r\x1b[K")
			p.drawn = time.Time{}
		}
		p.mu.Unlock()
	}
	fmt.Fprintf(w, format, args...)
}

// end clears the bar.
func (p *progress) end() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.drawn.IsZero() {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = time.Time{}
	}
}

// formatProgress renders "label [=====>    ]  42% 630 MB/1.5 GB 3.1s": the
// share done, the counts (sizes when unit is "bytes") and the time so far,
// with an estimate of the time left once something is done.
func formatProgress(label, unit string, done, total int64, elapsed time.Duration) string {
	frac := 0.0
	if total > 0 {
		frac = min(max(float64(done)/float64(total), 0), 1)
	}
	filled := int(frac * barWidth)
	bar := strings.Repeat("=", filled)
	if filled < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-filled-1)
	}
	counts := fmt.Sprintf("%d/%d %s", done, total, unit)
	if unit == "bytes" {
		counts = formatBytes(done) + "/" + formatBytes(total)
	}
	s := fmt.Sprintf("%s [%s] %3.0f%% %s %s", label, bar, 100*frac, counts, elapsed.Round(100*time.Millisecond))
	if frac > 0 && frac < 1 {
		left := time.Duration(float64(elapsed) * (1 - frac) / frac)
		s += fmt.Sprintf(", %s left", left.Round(time.Second))
	}
	return s
}

// formatBytes writes n bytes with a decimal unit: 950 B, 12.3 MB, 1.5 GB.
func formatBytes(n int64) string {
	const k = 1000
	if n < k {
		return fmt.Sprintf("%d B", n)
	}
	x, units := float64(n)/k, "kMGTPE"
	for i := range len(units) {
		if x < k || i == len(units)-1 {
			return fmt.Sprintf("%.1f %cB", x, units[i])
		}
		x /= k
	}
	return ""
}

// alsProgress returns an ALSConfig.Progress that logs each iteration's time
// to w ("recommender: als: iteration 3/15: 7.1s") and, on a terminal, keeps
// a bar of the iterations below the log.
func alsProgress(w io.Writer, iterations int) func(done, total int, took time.Duration) {
	bar := newProgress(w)
	bar.begin("als", "iterations", int64(iterations))
	bar.set(0)
	return func(done, total int, took time.Duration) {
		if done == 1 { // time left: iterations alone, not indexing the data
			bar.startedAt(time.Now().Add(-took))
		}
		bar.logf(w, "recommender: als: iteration %d/%d: %s\n", done, total, took.Round(10*time.Millisecond))
		bar.set(int64(done))
		if done == total {
			bar.end()
		}
	}
}
