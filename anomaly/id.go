package anomaly

import (
	"crypto/rand"
	"sync"
	"time"
)

// crockford is the ULID alphabet: sortable as text, no I, L, O or U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idSource makes ULIDs: 48 bits of milliseconds then 80 random bits, as 26
// characters of Crockford base32. Within one millisecond it counts the random
// part up, so the ids of one source sort in the order they were made.
type idSource struct {
	mu     sync.Mutex
	lastMS uint64
	last   [10]byte
}

func (s *idSource) next(t time.Time) string {
	ms := uint64(max(t.UnixMilli(), 0)) & (1<<48 - 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastMS != 0 && ms <= s.lastMS && increment(&s.last) {
		ms = s.lastMS // same (or earlier) millisecond: keep order
	} else {
		_, _ = rand.Read(s.last[:]) // crypto/rand.Read never fails (Go 1.24+)
		s.lastMS = max(ms, s.lastMS)
		ms = s.lastMS
	}
	var raw [16]byte
	for i := range 6 {
		raw[i] = byte(ms >> (40 - 8*i))
	}
	copy(raw[6:], s.last[:])
	return encodeULID(raw)
}

// increment adds one to b, big-endian; it reports false on overflow.
func increment(b *[10]byte) bool {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return true
		}
	}
	return false
}

// encodeULID writes 128 bits as 26 base32 digits (the first carries 3 bits).
func encodeULID(raw [16]byte) string {
	var out [26]byte
	var acc uint64
	bits := 2 // 130 bits of output for 128 of input: two leading zero bits
	j := 0
	for _, b := range raw {
		acc = acc<<8 | uint64(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out[j] = crockford[(acc>>bits)&31]
			j++
		}
	}
	return string(out[:])
}
