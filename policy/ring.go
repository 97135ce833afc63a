package policy

import "sync"

// inputRing keeps the last n inputs, for the edit gate's replay.
type inputRing struct {
	mu    sync.Mutex
	buf   []Input
	next  int
	total int
}

func newInputRing(n int) *inputRing { return &inputRing{buf: make([]Input, n)} }

func (r *inputRing) add(in Input) {
	r.mu.Lock()
	r.buf[r.next] = in
	r.next = (r.next + 1) % len(r.buf)
	r.total++
	r.mu.Unlock()
}

// snapshot is the kept inputs, oldest first.
func (r *inputRing) snapshot() []Input {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.total < len(r.buf) {
		return append([]Input(nil), r.buf[:r.total]...)
	}
	out := make([]Input, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}
