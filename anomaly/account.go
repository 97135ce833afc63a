package anomaly

import "time"

// maxWatched bounds the movies remembered as watched by one new account.
const maxWatched = 512

// Account is a create_account event from the movielog stream.
type Account struct {
	Time time.Time
	User string
}

// Watch is a watch event (one minute of a movie) from the movielog stream.
type Watch struct {
	Time  time.Time
	User  string
	Movie string
}

// ObserveAccount starts watching a new account: until NewAccountAge has
// passed, its ratings of movies it was not seen watching are counted.
func (p *Poisoning) ObserveAccount(a Account) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.rater(a.User, a.Time)
	u.created, u.watched, u.unwatched = a.Time, nil, 0
}

// ObserveWatch notes that a new account watched a movie. Watches of older
// accounts (or of accounts whose creation was not seen) cost one map
// lookup and are not kept.
func (p *Poisoning) ObserveWatch(w Watch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.users[w.User]
	if u == nil || !u.isNew(w.Time, p.cfg.NewAccountAge) {
		return
	}
	if u.watched == nil {
		u.watched = make(map[string]struct{})
	}
	if len(u.watched) < maxWatched {
		u.watched[w.Movie] = struct{}{}
	}
}

// isNew reports an account created less than age before now.
func (u *raterState) isNew(now time.Time, age time.Duration) bool {
	return !u.created.IsZero() && now.Sub(u.created) < age
}

// countUnwatched counts r when its user is a new account that was not seen
// watching the movie, and returns the user's count so far (0 for an
// account that is not new).
func (u *raterState) countUnwatched(r Rating, age time.Duration) int {
	if !u.isNew(r.Time, age) {
		u.watched = nil // old now: stop remembering
		return 0
	}
	if _, ok := u.watched[r.Movie]; !ok {
		u.unwatched++
	}
	return u.unwatched
}
