package recommender

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// AttackKind names a shilling (profile-injection) attack model, after Lam
// and Riedl, "Shilling recommender systems for fun and profit" (WWW 2004)
// and Mobasher, Burke, Bhaumik and Williams, "Toward trustworthy
// recommender systems" (ACM TOIT 2007). Every fake profile rates the target
// at the maximum (a push attack) plus filler items:
//   - random: filler ratings drawn around the global mean (global sd);
//   - average: filler ratings drawn around each filler item's own mean
//     (its sd), so a profile looks like an average user of those items;
//   - bandwagon: the Selected most-rated items at the maximum, so the
//     profile looks similar to many genuine users, plus random filler.
type AttackKind string

// The attack models.
const (
	AttackRandom    AttackKind = "random"
	AttackAverage   AttackKind = "average"
	AttackBandwagon AttackKind = "bandwagon"
)

// ErrShilling marks an attack configuration that cannot be built.
var ErrShilling = errors.New("invalid shilling attack")

// ShillingConfig describes one attack. Target, Kind and Start are required;
// zero fields take the defaults in their comments.
type ShillingConfig struct {
	Kind   AttackKind
	Target string    // the item pushed
	Start  time.Time // the first fake rating
	// Profiles is the attack size, in fake users; default 5% of the
	// genuine users (at least 1).
	Profiles int
	// Filler items rated per profile besides the target (and, for
	// bandwagon, the selected items); default 5% of the items.
	Filler int
	// Selected is how many of the most-rated items a bandwagon profile
	// rates at the maximum; default 5.
	Selected int
	// Gap separates one profile's consecutive ratings; default 2s (a bot).
	// ProfileGap separates profiles' first ratings; default the length of
	// one profile, so profiles run one after the other.
	Gap, ProfileGap time.Duration
	// MinRating and MaxRating bound the scale; default 1 and 5.
	MinRating, MaxRating int
	Seed                 int64
}

// ratingStats are the genuine data's figures an attacker is assumed to know.
type ratingStats struct {
	mean, sd  float64
	items     []string // by decreasing count, ties by id
	itemMean  map[string]float64
	itemSD    map[string]float64
	maxUserID int
}

// Shill returns the fake profiles' ratings (Weight = rating) of an attack
// on genuine, with user ids after genuine's largest decimal id. Each
// profile's ratings come in a random order, Gap apart.
func Shill(genuine []Interaction, cfg ShillingConfig) ([]Interaction, error) {
	st := statsOf(genuine)
	cfg, err := cfg.withDefaults(st)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5411_1a6e))
	var out []Interaction
	for p := range cfg.Profiles {
		user := strconv.Itoa(st.maxUserID + 1 + p)
		ratings := shillProfile(rng, st, cfg)
		rng.Shuffle(len(ratings), func(i, j int) { ratings[i], ratings[j] = ratings[j], ratings[i] })
		start := cfg.Start.Add(time.Duration(p) * cfg.ProfileGap)
		for i, r := range ratings {
			r.User, r.Time = user, start.Add(time.Duration(i)*cfg.Gap)
			out = append(out, r)
		}
	}
	return out, nil
}

func (c ShillingConfig) withDefaults(st ratingStats) (ShillingConfig, error) {
	users := st.maxUserID // ids are 1..n in the synthetic data; a fair size either way
	c.Profiles = cmp.Or(c.Profiles, max(1, users/20))
	c.Filler = cmp.Or(c.Filler, max(1, len(st.items)/20))
	c.Selected = cmp.Or(c.Selected, 5)
	c.Gap = cmp.Or(c.Gap, 2*time.Second)
	c.MinRating, c.MaxRating = cmp.Or(c.MinRating, 1), cmp.Or(c.MaxRating, 5)
	selected := 0
	if c.Kind == AttackBandwagon {
		selected = c.Selected
	}
	c.ProfileGap = cmp.Or(c.ProfileGap, time.Duration(1+c.Filler+selected)*c.Gap)
	switch {
	case c.Kind != AttackRandom && c.Kind != AttackAverage && c.Kind != AttackBandwagon:
		return c, fmt.Errorf("%w: unknown kind %q", ErrShilling, c.Kind)
	case c.Target == "" || c.Start.IsZero():
		return c, fmt.Errorf("%w: no target or start", ErrShilling)
	case c.Profiles < 0 || c.Filler < 0 || c.Selected < 0 || c.Gap < 0 || c.MinRating >= c.MaxRating:
		return c, fmt.Errorf("%w: negative size or bad scale", ErrShilling)
	case 1+c.Filler+selected > len(st.items):
		return c, fmt.Errorf("%w: %d items per profile, %d in the data", ErrShilling, 1+c.Filler+selected, len(st.items))
	}
	return c, nil
}

// shillProfile draws one profile's items and ratings (users and times unset).
func shillProfile(rng *rand.Rand, st ratingStats, cfg ShillingConfig) []Interaction {
	top := float64(cfg.MaxRating)
	used := map[string]bool{cfg.Target: true}
	out := []Interaction{{Item: cfg.Target, Weight: top}}
	if cfg.Kind == AttackBandwagon {
		for _, it := range st.items {
			if len(out) > cfg.Selected {
				break
			}
			if !used[it] {
				used[it] = true
				out = append(out, Interaction{Item: it, Weight: top})
			}
		}
	}
	for filled := 0; filled < cfg.Filler; {
		it := st.items[rng.IntN(len(st.items))]
		if used[it] {
			continue
		}
		used[it] = true
		mean, sd := st.mean, st.sd
		if cfg.Kind == AttackAverage {
			mean, sd = st.itemMean[it], st.itemSD[it]
		}
		r := math.Round(mean + sd*rng.NormFloat64())
		out = append(out, Interaction{Item: it, Weight: math.Max(float64(cfg.MinRating), math.Min(top, r))})
		filled++
	}
	return out
}

func statsOf(in []Interaction) ratingStats {
	st := ratingStats{itemMean: map[string]float64{}, itemSD: map[string]float64{}}
	sum, sq := map[string]float64{}, map[string]float64{}
	count := map[string]int{}
	var all, allSq float64
	for _, r := range in {
		sum[r.Item] += r.Weight
		sq[r.Item] += r.Weight * r.Weight
		count[r.Item]++
		all, allSq = all+r.Weight, allSq+r.Weight*r.Weight
		if id, err := strconv.Atoi(r.User); err == nil && id > st.maxUserID {
			st.maxUserID = id
		}
	}
	if n := float64(len(in)); n > 0 {
		st.mean, st.sd = all/n, math.Sqrt(math.Max(0, allSq/n-(all/n)*(all/n)))
	}
	for it, n := range count {
		m := sum[it] / float64(n)
		st.itemMean[it], st.itemSD[it] = m, math.Sqrt(math.Max(0, sq[it]/float64(n)-m*m))
		st.items = append(st.items, it)
	}
	slices.SortFunc(st.items, func(a, b string) int { return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(a, b)) })
	return st
}
