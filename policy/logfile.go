package policy

import (
	"bufio"
	"fmt"
	"os"
)

// logFile is the decision log's JSON-lines file, rotated by size to one
// predecessor (name+".1"). Only the writer goroutine uses it.
type logFile struct {
	name     string
	maxBytes int64
	f        *os.File
	w        *bufio.Writer
	size     int64
	buf      []byte // reused for each record's line (one writer goroutine)
}

func openLogFile(name string, maxBytes int64) (*logFile, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &logFile{name: name, maxBytes: maxBytes, f: f, w: bufio.NewWriterSize(f, 64<<10), size: st.Size()}, nil
}

// append writes r as one line, rotating first when the file is full.
func (l *logFile) append(r DecisionRecord) error {
	line, err := appendRecord(l.buf[:0], r)
	if err != nil {
		return fmt.Errorf("encode decision: %w", err)
	}
	line = append(line, '\n')
	l.buf = line
	if l.size > 0 && l.size+int64(len(line)) > l.maxBytes {
		if err := l.rotate(); err != nil {
			return fmt.Errorf("rotate decision log: %w", err)
		}
	}
	n, err := l.w.Write(line)
	l.size += int64(n)
	return err
}

func (l *logFile) rotate() error {
	if err := l.close(); err != nil {
		return err
	}
	if err := os.Rename(l.name, l.name+".1"); err != nil {
		return err
	}
	f, err := os.OpenFile(l.name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	l.f, l.size = f, 0
	l.w.Reset(f)
	return nil
}

func (l *logFile) flush() error { return l.w.Flush() }

func (l *logFile) close() error {
	if err := l.w.Flush(); err != nil {
		l.f.Close()
		return err
	}
	return l.f.Close()
}
