package main

import (
	"errors"
	"math"
	"math/bits"
	"strings"
	"time"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
)

// errTooManyIDs marks a log with more distinct users or movies than an int32
// indexes; no real log comes near it.
var errTooManyIDs = errors.New("too many distinct ids")

// idTable interns ids: each distinct id is stored once and numbered densely
// in order of first appearance. Course logs repeat a user's id on every line
// of a session, so the last id is checked before the map.
type idTable struct {
	ids    map[string]int32
	names  []string
	lastID int32 // index of the last id interned, -1 before the first
}

func newIDTable() idTable { return idTable{ids: map[string]int32{}, lastID: -1} }

// intern returns s's number; the stored copy of s is names[id].
func (t *idTable) intern(s string) (int32, error) {
	if t.lastID >= 0 && t.names[t.lastID] == s {
		return t.lastID, nil
	}
	id, ok := t.ids[s]
	if !ok {
		if len(t.names) == math.MaxInt32 {
			return 0, errTooManyIDs
		}
		s = strings.Clone(s) // s points into a whole chunk of the file
		id = int32(len(t.names))
		t.ids[s] = id
		t.names = append(t.names, s)
	}
	t.lastID = id
	return id, nil
}

// bitmapMinutes are the minutes a pair tracks in a bitmap; later minutes (a
// film longer than four hours) go to pairTable.lateMinutes.
const bitmapMinutes = 256

// instant is a time.Time without its location pointer, so that millions of
// them cost the garbage collector nothing to scan. Event times are UTC.
type instant struct {
	sec  int64
	nsec int32
}

func instantOf(t time.Time) instant { return instant{sec: t.Unix(), nsec: int32(t.Nanosecond())} }

func (a instant) before(b instant) bool {
	return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec)
}

func (a instant) time() time.Time { return time.Unix(a.sec, int64(a.nsec)).UTC() }

// pairState is one (user, movie) pair's events so far.
type pairState struct {
	minutes     [bitmapMinutes / 64]uint64 // distinct minutes watched, as bits
	latest      instant                    // latest event
	rated       instant                    // time of the latest rating
	user, movie int32
	lateMinutes int32 // distinct minutes >= bitmapMinutes
	rating      int8  // latest rating, 0 when none
}

// lateMinute is a minute beyond the bitmap, keyed by its pair.
type lateMinute struct {
	pair   int32
	minute int
}

// pairTable aggregates watch and rate events per (user, movie) pair as lines
// arrive, in order of each pair's first event. Nothing in it holds a
// pointer but the id tables, so its millions of entries are cheap for the
// garbage collector.
type pairTable struct {
	users, movies idTable
	index         map[uint64]int32 // user<<32 | movie -> pairs index
	pairs         []pairState
	late          map[lateMinute]struct{}
	last          int32 // the last pair touched, -1 before the first
}

func newPairTable() *pairTable {
	return &pairTable{users: newIDTable(), movies: newIDTable(), index: map[uint64]int32{},
		late: map[lateMinute]struct{}{}, last: -1}
}

// add records a watch or rate event.
func (t *pairTable) add(ev *events.Event) error {
	i, err := t.pair(ev.User, ev.Movie)
	if err != nil {
		return err
	}
	p, at := &t.pairs[i], instantOf(ev.Time)
	if p.latest.before(at) {
		p.latest = at
	}
	if ev.Kind == events.KindRate {
		if p.rating == 0 || !at.before(p.rated) {
			p.rating, p.rated = int8(ev.Rating), at // the latest rating wins
		}
		return nil
	}
	switch m := ev.Minute; {
	case m >= 0 && m < bitmapMinutes:
		p.minutes[m/64] |= 1 << (m % 64)
	default:
		key := lateMinute{pair: i, minute: m}
		if _, dup := t.late[key]; !dup {
			t.late[key] = struct{}{}
			p.lateMinutes++
		}
	}
	return nil
}

// pair returns the index of the (user, movie) pair, adding it when new.
func (t *pairTable) pair(user, movie string) (int32, error) {
	u, err := t.users.intern(user)
	if err != nil {
		return 0, err
	}
	m, err := t.movies.intern(movie)
	if err != nil {
		return 0, err
	}
	if t.last >= 0 && t.pairs[t.last].user == u && t.pairs[t.last].movie == m {
		return t.last, nil
	}
	key := uint64(u)<<32 | uint64(m)
	i, ok := t.index[key]
	if !ok {
		if len(t.pairs) == math.MaxInt32 {
			return 0, errTooManyIDs
		}
		i = int32(len(t.pairs))
		t.index[key] = i
		t.pairs = append(t.pairs, pairState{user: u, movie: m, latest: instant{sec: math.MinInt64}})
	}
	t.last = i
	return i, nil
}

// interactions returns one interaction per pair, weighted by pairWeight.
func (t *pairTable) interactions() []recommender.Interaction {
	out := make([]recommender.Interaction, len(t.pairs))
	for i := range t.pairs {
		p := &t.pairs[i]
		distinct := int(p.lateMinutes)
		for _, w := range p.minutes {
			distinct += bits.OnesCount64(w)
		}
		out[i] = recommender.Interaction{User: t.users.names[p.user], Item: t.movies.names[p.movie],
			Weight: pairWeight(distinct, int(p.rating)), Time: p.latest.time()}
	}
	return out
}
