package recommender

import (
	"strconv"
	"time"
)

// maxRepicks bounds the redraws that avoid a movie the user already has.
const maxRepicks = 20

// AppendEvents appends user u's course-log events to dst: their
// create_account, then watch sessions (one line per minute, from minute 0 on
// a first visit or a random minute on a return, a few lines repeated as a
// player retry would) each followed by a rating with probability rateShare,
// until the user's share of Events lines is used. Times increase per user.
func (s *Synth) AppendEvents(dst []SyntheticEvent, u int) []SyntheticEvent {
	x := s.user(u)
	user := x.info.ID
	t := x.start
	dst = append(dst, SyntheticEvent{Time: t, User: user, Kind: "create_account"})
	left := int(s.budget[u])
	watched := make(map[int]bool)
	for left > 0 {
		t = x.nextTime(t)
		i := s.pick(&x)
		for try := 0; watched[i] && try < maxRepicks; try++ {
			i = s.pick(&x) // prefer a new movie; a repeat is a return visit
		}
		p := s.liking(&x, i)
		start := 0
		if watched[i] {
			start = x.rng.IntN(movieLen)
		}
		watched[i] = true
		minutes := 1 + int(x.rng.ExpFloat64()*6*p)
		for m := start; m < min(start+minutes, movieLen) && left > 0; m++ {
			t = t.Add(time.Minute)
			ev := SyntheticEvent{Time: t, User: user, Kind: "watch", Movie: s.slugs[i], Minute: m}
			dst, left = append(dst, ev), left-1
			if left > 0 && x.rng.Float64() < retryShare {
				dst, left = append(dst, ev), left-1
			}
		}
		if left > 0 && x.rng.Float64() < rateShare {
			t = t.Add(time.Minute)
			r := clampRating(1 + 4*p + 0.6*x.rng.NormFloat64())
			dst = append(dst, SyntheticEvent{Time: t, User: user, Kind: "rate", Movie: s.slugs[i], Rating: r})
			left--
		}
	}
	return dst
}

// AppendRatings appends user u's MovieLens-style ratings to dst: one per
// distinct movie (item id = movie index + 1 in decimal), their share of
// Events of them (at most Movies), rating about 1 + 4p as in AppendEvents.
func (s *Synth) AppendRatings(dst []Interaction, u int) []Interaction {
	x := s.user(u)
	t := x.start
	want := min(int(s.budget[u]), s.cfg.Movies)
	rated := make(map[int]bool, want)
	for len(rated) < want {
		i := s.pick(&x)
		for try := 0; rated[i] && try < maxRepicks; try++ {
			i = s.pick(&x)
		}
		if rated[i] {
			i = s.firstUnrated(rated, x.rng.IntN(s.cfg.Movies))
		}
		rated[i] = true
		t = x.nextTime(t)
		r := clampRating(1 + 4*s.liking(&x, i) + 0.6*x.rng.NormFloat64())
		dst = append(dst, Interaction{User: x.info.ID, Item: strconv.Itoa(i + 1), Weight: float64(r), Time: t})
	}
	return dst
}

// firstUnrated returns the first movie from i on (wrapping) not in rated.
func (s *Synth) firstUnrated(rated map[int]bool, i int) int {
	for rated[i] {
		i = (i + 1) % s.cfg.Movies
	}
	return i
}
