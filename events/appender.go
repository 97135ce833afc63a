package events

import "time"

// maxCommitBytes bounds one group commit.
const maxCommitBytes = 4 << 20

// appendReq is records for the spool writer, all or none: their frames,
// their count and, for Append, where to say they are durable (nil for Send).
type appendReq struct {
	frame []byte
	n     int
	done  chan error
}

// appendLoop is the spool writer: it takes every request queued at the
// moment (group commit; a batch of Send records alone lingers a little for
// company, see sendLinger), writes those that fit, fsyncs once, and answers
// them all. It returns when reqs is closed and drained.
func (p *Producer) appendLoop() {
	var batch []appendReq
	var buf []byte
	linger := time.NewTimer(0)
	<-linger.C
	for req := range p.reqs {
		batch, buf = append(batch[:0], req), append(buf[:0], req.frame...)
	drain:
		for len(buf) < maxCommitBytes {
			select {
			case r, ok := <-p.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
				buf = append(buf, r.frame...)
			default:
				break drain
			}
		}
		if !waited(batch) {
			batch, buf = p.linger(linger, batch, buf)
		}
		p.commit(batch, buf)
	}
}

// sendLinger is how long a batch of Send records alone waits for company
// before its fsync. Send promises no durability (it returns before the
// write, and a full queue drops), so at low rates one fsync per record
// bought nothing but a disk flush and a wake-up per request; an Append
// arriving meanwhile ends the wait at once.
const sendLinger = 20 * time.Millisecond

// linger gathers more requests into batch until sendLinger passes, an
// Append (someone waiting) arrives, the batch is full or the queue closes.
func (p *Producer) linger(t *time.Timer, batch []appendReq, buf []byte) ([]appendReq, []byte) {
	t.Reset(sendLinger)
	defer func() {
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
	}()
	for len(buf) < maxCommitBytes {
		select {
		case r, ok := <-p.reqs:
			if !ok {
				return batch, buf
			}
			batch = append(batch, r)
			buf = append(buf, r.frame...)
			if r.done != nil {
				return batch, buf
			}
		case <-t.C:
			return batch, buf
		}
	}
	return batch, buf
}

// waited reports whether anyone in batch waits for its commit (Append).
func waited(batch []appendReq) bool {
	for _, r := range batch {
		if r.done != nil {
			return true
		}
	}
	return false
}

// commit writes batch (buf is its frames) and answers each request. When
// the whole batch does not fit, the records that do go in, in order, and
// the rest are refused.
func (p *Producer) commit(batch []appendReq, buf []byte) {
	fit, size := len(batch), int64(len(buf))
	for fit > 0 && !p.spool.free(size) {
		fit--
		size -= int64(len(batch[fit].frame))
	}
	var err error
	if fit > 0 {
		records := 0
		for _, req := range batch[:fit] {
			records += req.n
		}
		err = p.spool.commit(buf[:size], records)
	}
	for i, req := range batch {
		result := err
		if i >= fit {
			result = ErrSpoolFull
			p.spoolFull.Store(true)
			if req.done != nil {
				p.refused.Add(uint64(req.n))
			}
		}
		if req.done != nil {
			req.done <- result
		} else if result != nil {
			p.dropped.Add(uint64(req.n))
		}
	}
	p.stateChanged()
}
