package anomaly

import (
	"math/bits"
	"strconv"
	"time"
)

// The extraction signals beyond the distinct count and the stride runs,
// each computed from a principal's new targets only (targets not in its
// window yet): a stolen token is also used by the real front end, whose
// reads are mostly repeats of users it already asked for, so judging the
// newcomers keeps the attacker's share from being diluted by them.

// maxRankSample and maxInactiveSample bound the per-principal rings.
const (
	maxRankSample     = 64
	maxInactiveSample = 128
)

// rankRing holds the last numeric new targets in arrival order and keeps
// Kendall's S (concordant minus discordant pairs of id against arrival
// order) up to date in O(n) per id, with no sort and no allocation.
type rankRing struct {
	ids  [maxRankSample]int64
	n    int // ids held
	next int // slot of the next id (the oldest once full)
	s    int // Kendall's S over the ids held
}

// add appends id, dropping the oldest when size ids are held. S's terms
// do not depend on where the others sit in the ring (id is newer than all,
// the dropped one older), so one pass over the slots does both.
func (r *rankRing) add(id int64, size int) {
	if r.n < size {
		for _, x := range r.ids[:r.n] {
			r.s += sign(id - x)
		}
		r.ids[r.n] = id
		r.n++
		r.next = r.n % size
		return
	}
	old := r.ids[r.next]
	d := 0
	for _, x := range r.ids[:size] {
		d += sign(id-x) - sign(x-old) // old's own terms: sign(id-old) - 0
	}
	r.s += d - sign(id-old)
	r.ids[r.next] = id
	r.next = (r.next + 1) % size
}

// tau is Kendall's tau-a of the ids held against arrival order: 1 for ids
// rising in order (with any gaps), -1 falling, near 0 for random order.
func (r *rankRing) tau() float64 {
	if r.n < 2 {
		return 0
	}
	return float64(r.s) / float64(r.n*(r.n-1)/2)
}

func sign(d int64) int {
	switch {
	case d > 0:
		return 1
	case d < 0:
		return -1
	}
	return 0
}

// inactiveRing holds, for the last new targets judged, whether each was
// inactive in the movielog stream: one bit each.
type inactiveRing struct {
	bits [maxInactiveSample / 64]uint64
	n    int
	next int
}

func (r *inactiveRing) add(inactive bool, size int) {
	w, b := r.next/64, uint(r.next%64)
	r.bits[w] &^= 1 << b
	if inactive {
		r.bits[w] |= 1 << b
	}
	r.next = (r.next + 1) % size
	r.n = min(r.n+1, size)
}

// share is the inactive share of the targets held (0 when none).
func (r *inactiveRing) share() float64 {
	if r.n == 0 {
		return 0
	}
	c := 0
	for _, w := range r.bits {
		c += bits.OnesCount64(w)
	}
	return float64(c) / float64(r.n)
}

// signals is a principal's state for the signals of this file.
type signals struct {
	newTargets window // new targets, over the RateHorizon
	rank       *rankRing
	inactive   inactiveRing
	lastNew    time.Time // the newest new target's arrival
}

// expire forgets the rings once the principal asked for no new target for
// a window: like the distinct count, the evidence lasts a window, and a
// principal flagged for it that now reads only users it already asked for
// must not escalate on old evidence. (A principal still adding a few new
// targets keeps its rings, recent or not: the cost of one bit per target.)
func (s *signals) expire(now time.Time, win time.Duration) {
	if !s.lastNew.IsZero() && now.Sub(s.lastNew) >= win {
		s.reset()
	}
}

// observeNew counts a target the principal had not asked for in its window.
func (s *signals) observeNew(target string, now time.Time, cfg *ExtractionConfig, act *Activity) {
	s.newTargets.add(now, cfg.RateHorizon/windowBuckets, false)
	s.lastNew = now
	if cfg.RankTau >= 0 {
		if id, err := strconv.ParseInt(target, 10, 64); err == nil {
			if s.rank == nil {
				s.rank = new(rankRing)
			}
			s.rank.add(id, cfg.RankSample)
		}
	}
	if cfg.InactiveShare >= 0 && act != nil && act.Ready(now) {
		s.inactive.add(!act.Active(target, now), cfg.InactiveSample)
	}
}

// newRate is the principal's new targets per second over the RateHorizon.
func (s *signals) newRate(now time.Time, cfg *ExtractionConfig) float64 {
	n, _ := s.newTargets.sums(now, cfg.RateHorizon/windowBuckets)
	return float64(n) / cfg.RateHorizon.Seconds()
}

// rankTau is |tau| of the last new numeric targets once RankSample are
// held, else 0.
func (s *signals) rankTau(cfg *ExtractionConfig) float64 {
	if s.rank == nil || s.rank.n < cfg.RankSample {
		return 0
	}
	t := s.rank.tau()
	return max(t, -t)
}

// inactiveShare is the share of the last InactiveSample new targets that
// were inactive, once that many were judged, else 0.
func (s *signals) inactiveShare(cfg *ExtractionConfig) float64 {
	if s.inactive.n < cfg.InactiveSample {
		return 0
	}
	return s.inactive.share()
}

// coverage is distinct targets over the user population: Population when
// configured, else the users active now (once the activity set is ready);
// 0 with no population or one under CoverageMinPopulation.
func coverage(distinct int, now time.Time, cfg *ExtractionConfig, act *Activity) (cov float64, population int) {
	population = cfg.Population
	if population <= 0 && act != nil && act.Ready(now) {
		population = act.Len()
	}
	if population < cfg.CoverageMinPopulation || population <= 0 {
		return 0, population
	}
	return float64(distinct) / float64(population), population
}

func (s *signals) reset() {
	s.newTargets, s.lastNew = window{}, time.Time{}
	if s.rank != nil {
		*s.rank = rankRing{}
	}
	s.inactive = inactiveRing{}
}
