package anomaly

import "time"

// windowBuckets is the resolution of a sliding window counter.
const windowBuckets = 10

// window counts events and errors over a sliding window split into ten
// buckets: cheap (no allocation, no per-event memory) and accurate to a
// tenth of the window.
type window struct {
	head   int64 // index of the newest bucket (time / width)
	total  [windowBuckets]uint32
	errors [windowBuckets]uint32
}

// add counts one event at t (an error when isErr). Events older than the
// window are ignored; a clock step back lands in the newest bucket.
func (w *window) add(t time.Time, width time.Duration, isErr bool) {
	idx := t.UnixNano() / int64(width)
	w.advance(idx)
	if idx < w.head-windowBuckets+1 {
		return
	}
	slot := min(idx, w.head) % windowBuckets
	if slot < 0 {
		slot += windowBuckets
	}
	w.total[slot]++
	if isErr {
		w.errors[slot]++
	}
}

// advance moves the newest bucket to idx, clearing the buckets passed over.
func (w *window) advance(idx int64) {
	if idx <= w.head {
		return
	}
	for i := w.head + 1; i <= idx && i <= w.head+windowBuckets; i++ {
		s := i % windowBuckets
		if s < 0 {
			s += windowBuckets
		}
		w.total[s], w.errors[s] = 0, 0
	}
	w.head = idx
}

// sums returns the events and errors in the window ending at t.
func (w *window) sums(t time.Time, width time.Duration) (total, errs uint64) {
	idx := t.UnixNano() / int64(width)
	if idx >= w.head+windowBuckets {
		return 0, 0
	}
	for i := max(w.head-windowBuckets+1, idx-windowBuckets+1); i <= w.head; i++ {
		s := i % windowBuckets
		if s < 0 {
			s += windowBuckets
		}
		total += uint64(w.total[s])
		errs += uint64(w.errors[s])
	}
	return total, errs
}
