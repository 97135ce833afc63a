package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/reelguard/reelguard/recommender"
)

// chunkSize is how much of a file scanChunks reads at once. Each chunk
// becomes one string, so a line costs no allocation of its own: at course
// scale (20M lines) per-line strings were a third of reading's time, most of
// it the garbage collector's.
const chunkSize = 4 << 20

// scanChunks calls fn with each line of r, like recommender.ScanLines: lines
// are numbered from 1 and passed without "\n" or "\r\n"; a line longer than
// maxLen bytes is recorded in bad and skipped, and reading goes on; only an
// I/O error stops it. It returns the number of lines read. The line passed to
// fn shares memory with a whole chunk: fn must copy what it keeps
// (strings.Clone), or it pins the chunk. read, when not nil, is told the
// bytes consumed so far after each chunk.
func scanChunks(r io.Reader, maxLen int, bad *recommender.BadLines, read func(int64), fn func(n int, line string)) (int, error) {
	return scanChunksSize(r, chunkSize, maxLen, bad, read, fn)
}

// scanChunksSize is scanChunks reading size bytes at a time (more when a
// line may be longer).
func scanChunksSize(r io.Reader, size, maxLen int, bad *recommender.BadLines, read func(int64), fn func(n int, line string)) (int, error) {
	s := chunkScanner{buf: make([]byte, max(size, 2*maxLen+2)), maxLen: maxLen, bad: bad, fn: fn}
	var total int64
	for {
		k, err := io.ReadFull(r, s.buf[s.end:])
		s.end += k
		total += int64(k)
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return s.n, fmt.Errorf("read line %d: %w", s.n+1, err)
		}
		s.consume(eof)
		if read != nil {
			read(total)
		}
		if eof {
			return s.n, nil
		}
	}
}

// chunkScanner holds unconsumed bytes buf[:end] between reads.
type chunkScanner struct {
	buf      []byte
	end      int
	n        int  // lines so far
	skipping bool // inside a too-long line, dropping bytes up to its "\n"
	maxLen   int
	bad      *recommender.BadLines
	fn       func(n int, line string)
}

// consume hands every complete line in the buffer to fn and keeps the
// incomplete tail; at eof the tail is the last line.
func (s *chunkScanner) consume(eof bool) {
	data := s.buf[:s.end]
	if s.skipping {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			s.end = 0
			return
		}
		data, s.skipping = data[i+1:], false
	}
	cut := bytes.LastIndexByte(data, '\n') + 1
	if eof {
		cut = len(data)
	}
	s.lines(string(data[:cut]))
	rest := data[cut:]
	if len(rest) > s.maxLen { // no "\n" for longer than a line may be
		s.tooLong()
		s.skipping, rest = true, nil
	}
	s.end = copy(s.buf, rest)
}

// lines calls fn for each line of chunk, a run of whole lines.
func (s *chunkScanner) lines(chunk string) {
	for chunk != "" {
		line, rest, _ := strings.Cut(chunk, "\n")
		chunk = rest
		if len(line) > s.maxLen {
			s.tooLong()
			continue
		}
		s.n++
		s.fn(s.n, strings.TrimSuffix(line, "\r"))
	}
}

func (s *chunkScanner) tooLong() {
	s.n++
	s.bad.Add(s.n, fmt.Errorf("%w: line longer than %d bytes", recommender.ErrBadLine, s.maxLen))
}
