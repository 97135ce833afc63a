package events

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// readChunk is how much of a segment the reader takes at once.
const readChunk = 1 << 20

// spooledRecord is one record read back from the spool, with where it
// lies, or (sealEnd) the marker for the end of a sealed segment, which the
// sender passes along so the segment is released once acknowledged.
type spooledRecord struct {
	rec        spoolRecord
	seg        uint64
	start, end int64
	sealEnd    bool
}

// spoolReader reads a spool's durable records in order. Sender only.
type spoolReader struct {
	s   *spool
	pos spoolPos
	f   *os.File // open on fid
	fid uint64
}

func newSpoolReader(s *spool, from spoolPos) *spoolReader {
	return &spoolReader{s: s, pos: from}
}

// seek moves the read position (after a failed delivery, back to the
// oldest unacknowledged record).
func (r *spoolReader) seek(pos spoolPos) { r.pos = pos }

// next returns the durable records past the read position, up to about
// readChunk bytes of them, and moves past them; nil means nothing new yet.
// Damaged data (a torn final record after a crash, a failed checksum) is
// logged and skipped to the end of its segment: frames cannot be
// resynchronised after a bad length.
func (r *spoolReader) next() ([]spooledRecord, error) {
	seg, ok := r.s.segment(r.pos.seg)
	if !ok {
		return nil, nil
	}
	if seg.id != r.pos.seg || r.pos.off < int64(len(segmentMagic)) {
		r.pos = spoolPos{seg: seg.id, off: int64(len(segmentMagic))}
		if err := r.open(seg.id); err != nil {
			r.s.log.Error("event spool: skipping unreadable segment", "segment", seg.id, "err", err)
			r.pos.off = seg.size
		}
	}
	if r.pos.off >= seg.size {
		if !seg.sealed {
			return nil, nil
		}
		r.close()
		end := spooledRecord{seg: seg.id, start: seg.size, end: seg.size, sealEnd: true}
		r.pos = spoolPos{seg: seg.id + 1}
		return []spooledRecord{end}, nil
	}
	if r.f == nil || r.fid != seg.id {
		if err := r.open(seg.id); err != nil {
			return nil, err
		}
	}
	return r.read(seg)
}

func (r *spoolReader) read(seg segmentInfo) ([]spooledRecord, error) {
	n := min(seg.size-r.pos.off, readChunk)
	buf, err := r.readAt(r.pos.off, n)
	if err != nil {
		return nil, err
	}
	var out []spooledRecord
	base := r.pos.off
	consumed, err := scanFrames(buf, func(rec spoolRecord, end int) {
		start := base
		if len(out) > 0 {
			start = out[len(out)-1].end
		}
		out = append(out, spooledRecord{rec: rec, seg: seg.id, start: start, end: base + int64(end)})
	})
	r.pos.off += int64(consumed)
	switch {
	case err == nil:
	case errors.Is(err, errShortRecord) && consumed == 0:
		// One frame larger than readChunk: read exactly it, unless the
		// segment ends first (a torn write).
		if _, need, _ := decodeFrame(buf); need > len(buf) && r.pos.off+int64(need) <= seg.size {
			if buf, err = r.readAt(r.pos.off, int64(need)); err != nil {
				return nil, err
			}
			return r.wholeFrame(seg, buf)
		}
		r.skipRest(seg, err)
	case errors.Is(err, errCorruptRecord) || r.pos.off+int64(len(buf)-consumed) >= seg.size:
		r.skipRest(seg, err) // a short frame at the chunk's end is just the chunk boundary
	}
	return out, nil
}

func (r *spoolReader) wholeFrame(seg segmentInfo, buf []byte) ([]spooledRecord, error) {
	rec, n, err := decodeFrame(buf)
	if err != nil {
		r.skipRest(seg, err)
		return nil, nil
	}
	start := r.pos.off
	r.pos.off += int64(n)
	return []spooledRecord{{rec: rec, seg: seg.id, start: start, end: r.pos.off}}, nil
}

// skipRest logs damage at the read position and moves to the segment's end.
func (r *spoolReader) skipRest(seg segmentInfo, err error) {
	r.s.log.Error("event spool: damaged record skipped (torn write or corruption)",
		"segment", seg.id, "offset", r.pos.off, "skipped_bytes", seg.size-r.pos.off, "err", err)
	r.pos.off = seg.size
}

func (r *spoolReader) readAt(off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := r.f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read spool segment %d: %w", r.fid, err)
	}
	return buf, nil
}

// open opens segment id for reading and checks its magic.
func (r *spoolReader) open(id uint64) error {
	r.close()
	f, err := os.Open(r.s.segPath(id))
	if err != nil {
		return err
	}
	magic := make([]byte, len(segmentMagic))
	if _, err := io.ReadFull(f, magic); err != nil || string(magic) != segmentMagic {
		f.Close()
		return fmt.Errorf("segment %d: not a spool segment", id)
	}
	r.f, r.fid = f, id
	return nil
}

func (r *spoolReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}
