package gateway

import "sync/atomic"

// shedder bounds the requests in flight. Requests without a bearer token
// may fill only part of it, so under overload authenticated traffic is
// served first and anonymous floods are shed before they cost a token check.
type shedder struct {
	inFlight  atomic.Int64
	max       int64 // for requests carrying a token
	anonymous int64 // for requests without one
}

func newShedder(max int) *shedder {
	return &shedder{max: int64(max), anonymous: int64(max) * 3 / 4}
}

// acquire takes a slot, or reports that the request must be shed.
func (s *shedder) acquire(hasToken bool) bool {
	limit := s.anonymous
	if hasToken {
		limit = s.max
	}
	if s.inFlight.Add(1) > limit {
		s.inFlight.Add(-1)
		return false
	}
	return true
}

func (s *shedder) release() { s.inFlight.Add(-1) }
