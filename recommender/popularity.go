package recommender

import (
	"math"
	"time"
)

// PopularityConfig tunes TrainPopularityWith. The zero value is plain
// distinct-user counting, the same as TrainPopularity.
type PopularityConfig struct {
	// HalfLife, when positive, decays each user's vote by age: a user whose
	// latest interaction with an item is one HalfLife older than Now counts
	// one half. Zero (the default) means no decay.
	HalfLife time.Duration
	// Now is the reference time for decay; zero means the latest interaction time.
	Now time.Time
	// TrainedAt is stored in the model; zero means time.Now().
	TrainedAt time.Time
}

// TrainPopularity ranks items by the share of users who interacted with them:
// score = distinct users of the item / distinct users overall, in [0, 1].
// Counting users rather than interactions keeps a single user's repeated watch
// lines (one per minute in the course logs) from inflating an item. Weight is
// ignored here; any interaction counts, whatever its rating.
func TrainPopularity(in []Interaction, version string) *Model {
	return TrainPopularityWith(in, version, PopularityConfig{})
}

// TrainPopularityWith is TrainPopularity with optional time decay.
func TrainPopularityWith(in []Interaction, version string, cfg PopularityConfig) *Model {
	seen := make(map[string]map[string]struct{})
	latest := make(map[[2]string]time.Time) // (user, item) -> latest interaction
	var newest time.Time
	for _, x := range in {
		items := seen[x.User]
		if items == nil {
			items = make(map[string]struct{})
			seen[x.User] = items
		}
		items[x.Item] = struct{}{}
		key := [2]string{x.User, x.Item}
		if t, ok := latest[key]; !ok || x.Time.After(t) {
			latest[key] = x.Time
		}
		if x.Time.After(newest) {
			newest = x.Time
		}
	}
	now := cfg.Now
	if now.IsZero() {
		now = newest
	}
	votes := make(map[string]float64)
	for key, t := range latest {
		votes[key[1]] += decay(now.Sub(t), cfg.HalfLife)
	}
	popular := make([]Scored, 0, len(votes))
	for item, v := range votes {
		popular = append(popular, Scored{Item: item, Score: v / float64(len(seen))})
	}
	sortScored(popular)
	return &Model{
		meta:    popularityMeta(version, cfg, now, len(seen), len(popular), len(in)),
		popular: popular,
		seen:    seen,
	}
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
	if cfg.HalfLife > 0 {
		m.Params = map[string]string{
			"half_life": cfg.HalfLife.String(),
			"now":       now.UTC().Format(time.RFC3339),
		}
	}
	return m
}
