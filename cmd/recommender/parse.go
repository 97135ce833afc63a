package main

import (
	"cmp"
	"io"
	"slices"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
)

// parsedLine is one non-blank course log line's event, or why it is bad.
type parsedLine struct {
	n   int // line number, from 1
	ev  events.Event
	err error
}

// parseBatch is how many lines go between the pipeline's stages at once.
const parseBatch = 4096

// lineBatch is a batch of non-blank lines and their numbers.
type lineBatch struct {
	n     []int
	lines []string
}

// parseLines reads r in three stages: one goroutine splits lines
// (scanChunks), another parses them with events.ParseLine, and the caller's
// goroutine gets each non-blank line's result in line order through fn. On
// two cores, parsing and the caller's aggregation overlap, which halves
// reading a course log. Lines longer than maxLen go to tooLong, not fn. It
// returns the number of lines read, blank and bad ones included.
func parseLines(r io.Reader, maxLen int, tooLong *recommender.BadLines, read func(int64), fn func(*parsedLine)) (int, error) {
	raw, parsed := make(chan lineBatch, 4), make(chan []parsedLine, 4)
	freeRaw, freeParsed := make(chan lineBatch, 8), make(chan []parsedLine, 8)
	var (
		total   int
		scanErr error
	)
	go func() { // written before close(raw), read after parsed is closed
		defer close(raw)
		b := lineBatch{}
		total, scanErr = scanChunks(r, maxLen, tooLong, read, func(n int, line string) {
			if line == "" {
				return
			}
			b.n, b.lines = append(b.n, n), append(b.lines, line)
			if len(b.n) == parseBatch {
				raw <- b
				b = recycle(freeRaw, func(b lineBatch) lineBatch { return lineBatch{b.n[:0], b.lines[:0]} }, lineBatch{})
			}
		})
		if len(b.n) > 0 {
			raw <- b
		}
	}()
	go func() {
		defer close(parsed)
		for b := range raw {
			out := recycle(freeParsed, func(p []parsedLine) []parsedLine { return p[:0] }, nil)
			for i, line := range b.lines {
				ev, err := events.ParseLine(line)
				out = append(out, parsedLine{n: b.n[i], ev: ev, err: err})
			}
			parsed <- out
			offer(freeRaw, b)
		}
	}()
	for out := range parsed {
		for i := range out {
			fn(&out[i])
		}
		clear(out) // drop the events' strings before reuse
		offer(freeParsed, out)
	}
	return total, scanErr
}

// recycle takes a used buffer from free, reset, or returns fresh.
func recycle[T any](free chan T, reset func(T) T, fresh T) T {
	select {
	case b := <-free:
		return reset(b)
	default:
		return fresh
	}
}

// offer returns a buffer to free unless free is full.
func offer[T any](free chan T, b T) {
	select {
	case free <- b:
	default:
	}
}

// mergeBadLines combines two reports of one file's bad lines: the count is
// the sum, and First the earliest lines of both, as one reader would have
// reported them.
func mergeBadLines(a, b recommender.BadLines) recommender.BadLines {
	first := append(slices.Clone(a.First), b.First...)
	slices.SortStableFunc(first, func(x, y recommender.LineError) int { return cmp.Compare(x.Line, y.Line) })
	return recommender.BadLines{Count: a.Count + b.Count, First: first[:min(len(first), recommender.MaxReportedBadLines)]}
}
