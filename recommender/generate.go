package recommender

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// GenConfig sizes the synthetic data. Zero or negative fields take the defaults,
// small enough that generating and training take well under a second.
type GenConfig struct {
	Users  int       // default 500
	Movies int       // default 300
	Events int       // watch and rate events; default 20000 (create_account comes on top)
	Seed   int64     // same seed, same config: same events
	Start  time.Time // time of the first event; default 2024-01-01T00:00:00Z
}

// Generator defaults.
const (
	DefaultGenUsers  = 500
	DefaultGenMovies = 300
	DefaultGenEvents = 20000
)

// SyntheticEvent is one generated course-log event.
type SyntheticEvent struct {
	Time   time.Time
	User   string
	Kind   string // "watch", "rate" or "create_account"
	Movie  string // empty for create_account
	Minute int    // watch only
	Rating int    // rate only, 1..5
}

// Zipf exponents: a few blockbusters and heavy users, long tails of both.
const (
	movieZipfS = 1.1
	userZipfS  = 1.05
	rateShare  = 0.2 // the rest are watches
	movieLen   = 120 // minutes
)

// Generate makes deterministic synthetic events: Zipf-distributed movie
// popularity and user activity, each user's create_account just before their
// first activity, times increasing from cfg.Start.
func Generate(cfg GenConfig) []SyntheticEvent {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed_4ee1_9a4d))
	movies := movieSlugs(rng, cfg.Movies)
	quality := make([]float64, len(movies))
	for i := range quality {
		quality[i] = 1.5 + 3.5*rng.Float64()
	}
	// Permutations keep popularity from following the index order.
	moviePerm, userPerm := rng.Perm(cfg.Movies), rng.Perm(cfg.Users)
	movieZipf := rand.NewZipf(rng, movieZipfS, 1, uint64(cfg.Movies-1))
	userZipf := rand.NewZipf(rng, userZipfS, 1, uint64(cfg.Users-1))

	out := make([]SyntheticEvent, 0, cfg.Events+cfg.Users)
	created := make([]bool, cfg.Users)
	t := cfg.Start
	for range cfg.Events {
		t = t.Add(time.Second + time.Duration(rng.IntN(2000))*time.Millisecond)
		u := userPerm[userZipf.Uint64()]
		m := moviePerm[movieZipf.Uint64()]
		user := strconv.Itoa(u + 1)
		if !created[u] {
			created[u] = true
			out = append(out, SyntheticEvent{Time: t, User: user, Kind: "create_account"})
			t = t.Add(500 * time.Millisecond)
		}
		ev := SyntheticEvent{Time: t, User: user, Kind: "watch", Movie: movies[m], Minute: rng.IntN(movieLen)}
		if rng.Float64() < rateShare {
			ev.Kind, ev.Minute = "rate", 0
			ev.Rating = clampRating(quality[m] + rng.NormFloat64())
		}
		out = append(out, ev)
	}
	return out
}

func (c GenConfig) withDefaults() GenConfig {
	if c.Users <= 0 {
		c.Users = DefaultGenUsers
	}
	if c.Movies <= 0 {
		c.Movies = DefaultGenMovies
	}
	if c.Events <= 0 {
		c.Events = DefaultGenEvents
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return c
}

func clampRating(x float64) int {
	return int(math.Max(1, math.Min(5, math.Round(x))))
}

const slugYears = 75 // 1950..2024

var (
	slugLeads = []string{"the", "one", "return+of+the", "rise+of+the", "last", "my", "beyond+the", "night+of+the"}
	slugAdjs  = []string{
		"silent", "broken", "golden", "hidden", "lost", "dark", "crimson", "frozen",
		"wild", "secret", "burning", "distant", "electric", "forgotten", "iron", "quiet",
	}
	slugNouns = []string{
		"river", "empire", "garden", "stranger", "mountain", "kingdom", "detective", "summer",
		"horizon", "machine", "island", "shadow", "city", "promise", "voyage", "letter",
	}
)

// movieSlugs makes n distinct course-style ids such as "the+silent+river+1994":
// lowercase letters, digits and '+'.
func movieSlugs(rng *rand.Rand, n int) []string {
	// Past half the word lists' capacity, rejection sampling slows down:
	// number the titles instead, which makes every slug distinct.
	numbered := n > len(slugLeads)*len(slugAdjs)*len(slugNouns)*slugYears/2
	out := make([]string, 0, n)
	taken := make(map[string]bool, n)
	for len(out) < n {
		parts := []string{
			slugLeads[rng.IntN(len(slugLeads))],
			slugAdjs[rng.IntN(len(slugAdjs))],
			slugNouns[rng.IntN(len(slugNouns))],
		}
		if numbered {
			parts = append(parts, strconv.Itoa(len(out)+1))
		}
		slug := strings.Join(append(parts, strconv.Itoa(1950+rng.IntN(slugYears))), "+")
		if !taken[slug] {
			taken[slug] = true
			out = append(out, slug)
		}
	}
	return out
}
