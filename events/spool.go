package events

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Spool file names inside ProducerConfig.SpoolDir.
const (
	segmentExt = ".seg"
	cursorFile = "ack-cursor"
)

// spoolPos is a place in the spool: a segment and a byte offset in it.
type spoolPos struct {
	seg uint64
	off int64
}

// segmentInfo is what the spool knows of one segment file.
type segmentInfo struct {
	id     uint64
	size   int64 // durable bytes: the writer fsynced up to here
	sealed bool  // the writer moved on; size is final
}

// spool is the producer's durable queue: append-only segment files in one
// folder plus an ack cursor. One writer appends (the appender) and one
// reader reads in order (the sender); both go through mu for the segment
// list, and only the writer touches the active file.
type spool struct {
	dir      string
	log      *slog.Logger
	maxBytes int64
	segBytes int64

	mu      sync.Mutex
	segs    []*segmentInfo // ascending id; the last one is active
	bytes   int64          // on disk, all segments
	records int64          // spooled and not yet acknowledged
	wake    chan struct{}  // cap 1: durable data grew or a segment was sealed

	active *os.File // writer-owned
	start  spoolPos // where the sender starts: the loaded ack cursor
}

// openSpool opens (creating) the spool in dir. Segments the ack cursor has
// passed are removed; the rest are sealed and will be sent again, and a new
// active segment is started, so a torn tail is never appended to.
func openSpool(dir string, maxBytes, segBytes int64, log *slog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	s := &spool{dir: dir, log: log, maxBytes: maxBytes, segBytes: segBytes, wake: make(chan struct{}, 1)}
	ids, err := s.listSegments()
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	s.start = s.loadCursor()
	for _, id := range ids {
		if id < s.start.seg {
			s.removeFile(id)
			continue
		}
		info, err := os.Stat(s.segPath(id))
		if err != nil {
			return nil, fmt.Errorf("open spool: %w", err)
		}
		s.segs = append(s.segs, &segmentInfo{id: id, size: info.Size(), sealed: true})
		s.bytes += info.Size()
	}
	s.records = s.countRecords()
	next := uint64(1)
	if len(ids) > 0 {
		next = ids[len(ids)-1] + 1
	}
	if err := s.newSegment(next); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	return s, nil
}

func (s *spool) segPath(id uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", id, segmentExt))
}

func (s *spool) listSegments() ([]uint64, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentExt)
		if !ok {
			continue
		}
		if id, err := strconv.ParseUint(name, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// loadCursor reads the ack cursor; a missing or unreadable one means
// "from the oldest segment", which only costs duplicates.
func (s *spool) loadCursor() spoolPos {
	data, err := os.ReadFile(filepath.Join(s.dir, cursorFile))
	if errors.Is(err, fs.ErrNotExist) {
		return spoolPos{}
	}
	var pos spoolPos
	if err == nil {
		_, err = fmt.Sscanf(string(data), "v1 %d %d\n", &pos.seg, &pos.off)
	}
	if err != nil || pos.off < 0 {
		s.log.Warn("event spool: ack cursor unreadable, resending from the oldest segment", "err", err)
		return spoolPos{}
	}
	return pos
}

// saveCursor makes pos durable: everything before it is acknowledged.
func (s *spool) saveCursor(pos spoolPos) error {
	data := fmt.Appendf(nil, "v1 %d %d\n", pos.seg, pos.off)
	if err := writeAtomic(filepath.Join(s.dir, cursorFile), data, 0o600, true); err != nil {
		return fmt.Errorf("save spool cursor: %w", err)
	}
	return nil
}

// countRecords counts the intact records from the start position on,
// for Stats after a restart.
func (s *spool) countRecords() int64 {
	var n int64
	for _, seg := range s.segs {
		from := int64(len(segmentMagic))
		if seg.id == s.start.seg {
			from = max(from, s.start.off)
		}
		f, err := os.Open(s.segPath(seg.id))
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.NewSectionReader(f, from, max(0, seg.size-from)))
		f.Close()
		if err == nil {
			_, _ = scanFrames(data, func(spoolRecord, int) { n++ }) // damage is logged when sent
		}
	}
	return n
}

// newSegment creates segment id, writes its magic, makes both durable and
// makes it the active segment. Writer only.
func (s *spool) newSegment(id uint64) error {
	f, err := os.OpenFile(s.segPath(id), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(segmentMagic); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	old := s.active
	s.active = f
	s.mu.Lock()
	if n := len(s.segs); n > 0 {
		s.segs[n-1].sealed = true
	}
	s.segs = append(s.segs, &segmentInfo{id: id, size: int64(len(segmentMagic))})
	s.bytes += int64(len(segmentMagic))
	s.mu.Unlock()
	s.notify()
	if old != nil {
		old.Close()
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// free reports whether n more bytes fit. Writer only: nothing else adds.
func (s *spool) free(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes+n <= s.maxBytes
}

// commit appends frames (holding records records) to the active segment
// and fsyncs: when it returns nil they survive a crash. On a failed write
// the segment is cut back to its durable size. Writer only.
func (s *spool) commit(frames []byte, records int) error {
	s.mu.Lock()
	seg := s.segs[len(s.segs)-1]
	at := seg.size
	s.mu.Unlock()
	_, err := s.active.WriteAt(frames, at)
	if err == nil {
		err = s.active.Sync()
	}
	if err != nil {
		_ = s.active.Truncate(at)
		return fmt.Errorf("spool write: %w", err)
	}
	s.mu.Lock()
	seg.size += int64(len(frames))
	s.bytes += int64(len(frames))
	s.records += int64(records)
	full := seg.size >= s.segBytes
	s.mu.Unlock()
	s.notify()
	if full {
		if err := s.newSegment(seg.id + 1); err != nil {
			s.log.Error("event spool: cannot start a new segment, still appending to the old one", "err", err)
		}
	}
	return nil
}

func (s *spool) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// segment returns a copy of segment id's info, or of the first segment
// after it when id is gone; ok is false when there is none.
func (s *spool) segment(id uint64) (segmentInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seg := range s.segs {
		if seg.id >= id {
			return *seg, true
		}
	}
	return segmentInfo{}, false
}

// release deletes a sealed segment whose records are all acknowledged.
func (s *spool) release(id uint64) {
	s.mu.Lock()
	i := slices.IndexFunc(s.segs, func(seg *segmentInfo) bool { return seg.id == id })
	if i < 0 || !s.segs[i].sealed {
		s.mu.Unlock()
		return
	}
	s.bytes -= s.segs[i].size
	s.segs = slices.Delete(s.segs, i, i+1)
	s.mu.Unlock()
	s.removeFile(id)
}

func (s *spool) removeFile(id uint64) {
	if err := os.Remove(s.segPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("event spool: cannot remove an acknowledged segment", "segment", id, "err", err)
	}
}

// acked counts n records as acknowledged.
func (s *spool) acked(n int64) {
	s.mu.Lock()
	s.records -= n
	s.mu.Unlock()
}

// usage returns the bytes on disk and the records not yet acknowledged.
func (s *spool) usage() (bytes, records int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes, s.records
}

// closeWriter closes the active file. Writer only, once it has stopped.
func (s *spool) closeWriter() error {
	if s.active == nil {
		return nil
	}
	err := s.active.Close()
	s.active = nil
	return err
}
