package anomaly

import "time"

func (u *raterState) push(e ratingEntry) {
	u.ring[u.next] = e
	u.next = (u.next + 1) % len(u.ring)
	u.n = min(u.n+1, len(u.ring))
}

func (u *raterState) at(i int) ratingEntry { // i = 0 is the newest
	return u.ring[(u.next-1-i+2*len(u.ring))%len(u.ring)]
}

func (u *raterState) newest() ratingEntry { return u.at(0) }

// countSince counts the ratings at or after since.
func (u *raterState) countSince(since time.Time) int {
	n := 0
	for i := range u.n {
		if u.at(i).at.Before(since) {
			break
		}
		n++
	}
	return n
}

// sameRun counts the newest ratings at or after since that all equal rating.
func (u *raterState) sameRun(since time.Time, rating int) int {
	n := 0
	for i := range u.n {
		e := u.at(i)
		if e.at.Before(since) || e.rating != rating {
			break
		}
		n++
	}
	return n
}

// ratedWithin reports whether the user rated movie at or after now - win.
func (u *raterState) ratedWithin(movie string, now time.Time, win time.Duration) bool {
	for i := range u.n {
		e := u.at(i)
		if now.Sub(e.at) > win {
			return false
		}
		if e.movie == movie {
			return true
		}
	}
	return false
}

func (m *movieState) push(e movieEntry) {
	m.ring[m.next] = e
	m.next = (m.next + 1) % movieHistory
	m.n = min(m.n+1, movieHistory)
}

// count returns, among the movie's ratings at or after since, how many
// equal rating and how many there are.
func (m *movieState) count(since time.Time, rating int) (same, total int) {
	for i := range m.n {
		e := m.ring[(m.next-1-i+2*movieHistory)%movieHistory]
		if e.at.Before(since) {
			break
		}
		total++
		if e.rating == rating {
			same++
		}
	}
	return same, total
}
