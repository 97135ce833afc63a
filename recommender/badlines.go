package recommender

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxReportedBadLines caps BadLines.First: enough to see what is wrong with a
// file without keeping millions of errors of a file that is wholly wrong.
const MaxReportedBadLines = 10

// BadLines is a reader's report of the lines it skipped: how many, and the
// first MaxReportedBadLines of them with their line numbers and reasons.
// Readers never drop a line silently and never stop at the first bad one.
type BadLines struct {
	Count int
	First []LineError
}

// Add records a skipped line (numbered from 1).
func (b *BadLines) Add(line int, err error) {
	b.Count++
	if len(b.First) < MaxReportedBadLines {
		b.First = append(b.First, LineError{Line: line, Err: err})
	}
}

// Err returns nil when no line was bad, otherwise the first bad line as a
// *LineError.
func (b BadLines) Err() error {
	if b.Count == 0 || len(b.First) == 0 {
		return nil
	}
	first := b.First[0]
	return &first
}

// String summarizes the report on one line, for a log or standard error.
func (b BadLines) String() string {
	if b.Count == 0 {
		return "no bad lines"
	}
	parts := make([]string, len(b.First))
	for i := range b.First {
		parts[i] = b.First[i].Error()
	}
	more := ""
	if b.Count > len(b.First) {
		more = fmt.Sprintf("; %d more", b.Count-len(b.First))
	}
	return fmt.Sprintf("%d bad lines: %s%s", b.Count, strings.Join(parts, "; "), more)
}

// errNoValidLines wraps the first bad line when a reader found nothing good.
var errNoValidLines = errors.New("no valid lines")

// noValid returns the error of a read that found bad lines and no good one.
func noValid(bad BadLines) error {
	return fmt.Errorf("%w: %d bad lines, first: %w", errNoValidLines, bad.Count, bad.Err())
}

// ScanLines calls fn with each line of r (numbered from 1, without its "\n"
// or "\r\n") and returns how many lines it read. A line longer than maxLen
// is recorded in bad and skipped, and reading goes on; only an I/O error
// stops it.
func ScanLines(r io.Reader, maxLen int, bad *BadLines, fn func(n int, line string)) (int, error) {
	br := bufio.NewReaderSize(r, maxLen)
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			n++
			bad.Add(n, fmt.Errorf("%w: line longer than %d bytes", ErrBadLine, maxLen))
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
		} else if len(line) > 0 {
			n++
			fn(n, strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"))
		}
		switch {
		case err == io.EOF:
			return n, nil
		case err != nil:
			return n, fmt.Errorf("read line %d: %w", n+1, err)
		}
	}
}
