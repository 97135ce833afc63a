package recommender

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// GenConfig sizes the synthetic data. Zero or negative fields take the
// defaults: the size of MovieLens-100k (943 users, 1682 movies, 100k
// ratings), small enough that generating and training take about a second.
type GenConfig struct {
	Users  int       // default 1000; every user gets a create_account
	Movies int       // default 1682
	Events int       // movielog watch and rate lines, or movielens ratings; default 100000
	Groups int       // planted latent taste groups; default 12
	Seed   int64     // same seed, same config: same data
	Start  time.Time // earliest time; default 2024-01-01T00:00:00Z
}

// Generator defaults.
const (
	DefaultGenUsers  = 1000
	DefaultGenMovies = 1682
	DefaultGenEvents = 100000
	DefaultGenGroups = 12
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

// The planted model (see Synth). The constants are the generator's, not
// tuning knobs of any algorithm.
const (
	movieZipfS     = 0.9  // item exposure ∝ 1/rank^s: a few blockbusters, a long tail
	activitySigma  = 0.8  // user activity is lognormal: a few heavy users
	exploreShare   = 0.2  // sessions that pick by popularity alone, ignoring taste
	secondTaste    = 0.5  // share of users with a second taste group
	secondGenre    = 0.3  // share of movies with a second group
	secondWeight   = 0.25 // a user's second group's share of their taste
	secondMember   = 0.6  // a movie's membership of its second group
	rateShare      = 0.3  // sessions followed by a rating
	retryShare     = 0.03 // watch lines the player sends twice
	movieLen       = 120  // minutes
	activitySpan   = 30 * 24 * time.Hour
	meanSessionGap = 6 * time.Hour
)

// Generate makes deterministic synthetic course-log events, user by user
// (each user's create_account, then their sessions in time order); see Synth
// for the planted structure. It holds everything in memory: for large
// configurations use Synth.AppendEvents user by user.
func Generate(cfg GenConfig) []SyntheticEvent {
	s := NewSynth(cfg)
	out := make([]SyntheticEvent, 0, s.cfg.Events+s.cfg.Users)
	for u := range s.cfg.Users {
		out = s.AppendEvents(out, u)
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
	if c.Groups <= 0 {
		c.Groups = DefaultGenGroups
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return c
}

func clampRating(x float64) int {
	return int(math.Max(1, math.Min(5, math.Round(x))))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// sampler draws indexes with probability proportional to their weights.
type sampler struct {
	ids []int32
	cum []float64 // running sum of the weights
}

func (s *sampler) add(id int32, w float64) {
	total := w
	if n := len(s.cum); n > 0 {
		total += s.cum[n-1]
	}
	s.ids, s.cum = append(s.ids, id), append(s.cum, total)
}

func (s *sampler) draw(rng *rand.Rand) int32 {
	x := rng.Float64() * s.cum[len(s.cum)-1]
	i := sort.SearchFloat64s(s.cum, x)
	return s.ids[min(i, len(s.ids)-1)]
}

// activityBudgets splits total lines over users in proportion to lognormal
// activity weights, exactly: user u gets floor(total·C_u/W) − floor(total·C_{u−1}/W)
// for the running weight sum C, so the budgets add up to total.
func activityBudgets(rng *rand.Rand, users, total int) []int32 {
	w := make([]float64, users)
	var sum float64
	for i := range w {
		w[i] = math.Exp(activitySigma * rng.NormFloat64())
		sum += w[i]
	}
	out := make([]int32, users)
	var run float64
	prev := 0
	for i := range w {
		run += w[i]
		cur := int(math.Floor(float64(total) * run / sum))
		if i == users-1 {
			cur = total
		}
		out[i] = int32(max(cur-prev, 0))
		prev = max(cur, prev)
	}
	return out
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

// slugTitle turns "the+silent+river+1994" into "The Silent River (1994)".
func slugTitle(slug string) string {
	words := strings.Split(slug, "+")
	year := words[len(words)-1]
	words = words[:len(words)-1]
	for i, w := range words {
		if w != "" && w[0] >= 'a' && w[0] <= 'z' {
			words[i] = string(w[0]-'a'+'A') + w[1:]
		}
	}
	return strings.Join(words, " ") + " (" + year + ")"
}
