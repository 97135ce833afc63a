package anomaly

import (
	"fmt"
	"sync"
	"time"
)

// PoisoningConfig sets the rating-poisoning thresholds. The zero value
// works; each field's comment gives its default.
type PoisoningConfig struct {
	// BurstWindow and BurstMax: more than BurstMax ratings by one user in
	// BurstWindow is a burst no person rates at. Defaults 1 minute, 20.
	BurstWindow time.Duration
	BurstMax    int
	// ExtremeWindow and ExtremeMin: ExtremeMin or more ratings by one user
	// in ExtremeWindow, all the lowest or all the highest value, is a
	// zero-variance push or nuke profile. Defaults 1 hour, 15.
	ExtremeWindow time.Duration
	ExtremeMin    int
	// CoordWindow, CoordMin and CoordShare: CoordMin or more users giving
	// one movie the same extreme rating within CoordWindow, making up at
	// least CoordShare of its ratings there, is a coordinated campaign.
	// Defaults 10 minutes, 25, 0.9.
	CoordWindow time.Duration
	CoordMin    int
	CoordShare  float64
	// NewAccountAge and UnwatchedMin: an account whose create_account was
	// seen less than NewAccountAge ago, rating UnwatchedMin movies it was
	// not seen watching, is a fake profile. Defaults 24 hours, 5.
	NewAccountAge time.Duration
	UnwatchedMin  int
	// FlagTTL: every rating of a user flagged for a burst, an extreme-only
	// or an unwatched profile is suspicious until this long after the last
	// flag. Default 24 hours.
	FlagTTL time.Duration
	// MinRating and MaxRating bound the scale. Defaults 1 and 5.
	MinRating, MaxRating int
	// AlertEvery rate-limits alerts per user or movie. Default 10 minutes.
	AlertEvery time.Duration
	// MaxUsers and MaxMovies bound the state kept. Defaults 200000, 50000.
	MaxUsers, MaxMovies int
}

func (c PoisoningConfig) withDefaults() PoisoningConfig {
	pos := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	dur(&c.BurstWindow, time.Minute)
	dur(&c.ExtremeWindow, time.Hour)
	dur(&c.CoordWindow, 10*time.Minute)
	dur(&c.AlertEvery, 10*time.Minute)
	dur(&c.NewAccountAge, 24*time.Hour)
	dur(&c.FlagTTL, 24*time.Hour)
	pos(&c.UnwatchedMin, 5)
	pos(&c.BurstMax, 20)
	pos(&c.ExtremeMin, 15)
	pos(&c.CoordMin, 25)
	pos(&c.MinRating, 1)
	pos(&c.MaxRating, 5)
	pos(&c.MaxUsers, 200000)
	pos(&c.MaxMovies, 50000)
	if c.CoordShare <= 0 {
		c.CoordShare = 0.9
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c PoisoningConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.BurstMax > maxUserHistory-1, c.ExtremeMin > maxUserHistory:
		return fmt.Errorf("%w: poisoning burst or extreme count above %d", ErrInvalidConfig, maxUserHistory)
	case c.CoordMin > movieHistory, c.CoordShare > 1:
		return fmt.Errorf("%w: poisoning coordination count above %d or share above 1", ErrInvalidConfig, movieHistory)
	case c.MinRating >= c.MaxRating:
		return fmt.Errorf("%w: poisoning rating scale", ErrInvalidConfig)
	}
	return nil
}

// Rating is one rate event from the movielog stream or POST /events.
type Rating struct {
	Time   time.Time
	User   string
	Movie  string
	Rating int
}

// History sizes: the per-user and per-movie rings bound memory and time.
const (
	maxUserHistory = 256
	movieHistory   = 128
)

type ratingEntry struct {
	at     time.Time
	movie  string
	rating int
}

type raterState struct {
	ring      []ratingEntry // newest at (next-1) mod len
	next, n   int
	alertedAt time.Time
	// flaggedUntil: the profile's ratings are suspicious until then.
	flaggedUntil time.Time
	// created is when the account's create_account was seen (zero: not
	// seen, an old account); watched and unwatched are kept while it is new.
	created   time.Time
	watched   map[string]struct{}
	unwatched int
}

type movieEntry struct {
	at     time.Time
	rating int
}

type movieState struct {
	ring      [movieHistory]movieEntry
	next, n   int
	alertedAt time.Time
}

// Poisoning flags suspicious ratings for exclusion from training. It never
// throttles or blocks: raters are not requests. Safe for concurrent use.
type Poisoning struct {
	cfg     PoisoningConfig
	history int

	mu     sync.Mutex
	users  map[string]*raterState
	movies map[string]*movieState
}

// NewPoisoning returns a detector; an invalid cfg is an ErrInvalidConfig.
func NewPoisoning(cfg PoisoningConfig) (*Poisoning, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Poisoning{cfg: cfg, history: max(cfg.BurstMax+1, cfg.ExtremeMin),
		users: make(map[string]*raterState), movies: make(map[string]*movieState)}, nil
}
