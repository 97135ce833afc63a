package recommender

import (
	"math"
	"strconv"
	"time"
)

// PopularityConfig tunes TrainPopularityWith and, through each kind's
// Popularity field, every kind's candidates and cold-start lists. The zero
// value is plain distinct-user counting over every item, the same as
// TrainPopularity.
type PopularityConfig struct {
	// HalfLife, when positive, decays each user's vote by age: a user whose
	// latest interaction with an item is one HalfLife older than Now counts
	// one half. Zero (the default) means no decay.
	HalfLife time.Duration
	// Now is the reference time for decay; zero means the latest interaction time.
	Now time.Time
	// TrainedAt is stored in the model; zero means time.Now().
	TrainedAt time.Time
	// MinSupport is candidate filtering: an item fewer than MinSupport
	// distinct users interacted with in training is never recommended, by
	// any kind, to anyone. Zero or one (the default) keeps every item.
	MinSupport int
	// Users are demographics (see ReadUsers). Users listed here without any
	// interaction get their demographic group's popular list (see
	// ColdStartGroup); nil (the default) means no groups.
	Users map[string]UserInfo
}

// TrainPopularity ranks items by the share of users who interacted with them:
// score = distinct users of the item / distinct users overall, in [0, 1].
// Counting users rather than interactions keeps a single user's repeated watch
// lines (one per minute in the course logs) from inflating an item. Weight is
// ignored here; any interaction counts, whatever its rating.
func TrainPopularity(in []Interaction, version string) *Model {
	return TrainPopularityWith(in, version, PopularityConfig{})
}

// TrainPopularityWith is TrainPopularity with optional time decay, candidate
// filtering and demographic cold-start lists.
func TrainPopularityWith(in []Interaction, version string, cfg PopularityConfig) *Model {
	t := tallyInteractions(in)
	now := cfg.Now
	if now.IsZero() {
		now = t.newest
	}
	votes := make(map[string]float64)
	support := make(map[string]int)
	for key, at := range t.latest {
		votes[key[1]] += decay(now.Sub(at), cfg.HalfLife)
		support[key[1]]++
	}
	popular := make([]Scored, 0, len(votes))
	for item, v := range votes {
		if support[item] >= cfg.MinSupport {
			popular = append(popular, Scored{Item: item, Score: v / float64(len(t.seen))})
		}
	}
	sortScored(popular)
	m := &Model{
		meta:       popularityMeta(version, cfg, now, len(t.seen), len(votes), len(in)),
		popular:    popular,
		seen:       t.seen,
		minSupport: max(cfg.MinSupport, 0),
	}
	if cfg.Users != nil {
		m.cold = trainColdStart(t, cfg, now, popular)
	}
	return m
}

// tally is who touched what in training, and when last.
type tally struct {
	seen   map[string]map[string]struct{}
	latest map[[2]string]time.Time // (user, item) -> latest interaction
	newest time.Time
}

func tallyInteractions(in []Interaction) tally {
	t := tally{seen: make(map[string]map[string]struct{}), latest: make(map[[2]string]time.Time)}
	for _, x := range in {
		items := t.seen[x.User]
		if items == nil {
			items = make(map[string]struct{})
			t.seen[x.User] = items
		}
		items[x.Item] = struct{}{}
		key := [2]string{x.User, x.Item}
		if at, ok := t.latest[key]; !ok || x.Time.After(at) {
			t.latest[key] = x.Time
		}
		if x.Time.After(t.newest) {
			t.newest = x.Time
		}
	}
	return t
}

// decay is a user's vote for an item last touched age ago.
func decay(age, halfLife time.Duration) float64 {
	if halfLife <= 0 || age <= 0 {
		return 1
	}
	return math.Exp2(-float64(age) / float64(halfLife))
}

func popularityMeta(version string, cfg PopularityConfig, now time.Time, users, items, interactions int) Meta {
	at := cfg.TrainedAt
	if at.IsZero() {
		at = time.Now()
	}
	m := Meta{
		Kind:         KindPopularity,
		Version:      version,
		TrainedAt:    at.UTC().Truncate(time.Second),
		Users:        users,
		Items:        items,
		Interactions: interactions,
	}
	params := map[string]string{}
	if cfg.HalfLife > 0 {
		params["half_life"] = cfg.HalfLife.String()
		params["now"] = now.UTC().Format(time.RFC3339)
	}
	if cfg.MinSupport > 1 {
		params["min_support"] = strconv.Itoa(cfg.MinSupport)
	}
	if len(params) > 0 {
		m.Params = params
	}
	return m
}
