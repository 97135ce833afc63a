package recommender

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Synth is a synthetic world with planted latent structure, the generator
// behind Generate and `recommender gen`:
//
//   - Groups latent taste groups. Each group has one or two genres, an age
//     centre, a gender balance and a few favourite occupations.
//   - Each movie belongs to a primary group and, for some, a second one (with
//     membership secondMember); its genres are its groups' genres. Exposure
//     follows a Zipf law over a random ranking (a popularity skew), and each
//     movie has a quality in [-1, 1].
//   - Each user has a primary group (taste weight 1, or 1-secondWeight when they
//     have a second group); their age, gender and occupation are drawn from the
//     primary group's profile, so demographics predict taste.
//   - A session picks a movie: with probability exploreShare by exposure
//     alone, otherwise a group by the user's taste and a movie of that group
//     by exposure. The user's affinity a (taste weights times memberships) and
//     the movie's quality set how much they like it,
//     p = sigmoid(5(a-0.45) + 0.8·quality + 0.7·noise): p sets how many
//     minutes they watch (about 1 + 6p on average) and their rating (about 1 + 4p).
//
// Every user's data comes from a generator seeded by the seed and the user
// alone, so users can be generated one at a time (streaming) or in any order.
type Synth struct {
	cfg     GenConfig
	slugs   []string
	items   []synthItem
	groups  []groupProfile
	all     sampler   // every movie by exposure
	byGroup []sampler // each group's movies by exposure times membership
	budget  []int32   // lines (movielog) or ratings (movielens) per user
}

type synthItem struct {
	groups  [2]int // second is -1 when the movie has one group
	quality float64
}

type groupProfile struct {
	genres      []string
	age         float64
	male        float64 // share of men
	occupations []string
}

// Occupations100K are ML-100k's u.user occupations.
var Occupations100K = []string{
	"administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
	"healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other", "programmer",
	"retired", "salesman", "scientist", "student", "technician", "writer",
}

// NewSynth draws the world for cfg (zero fields take the GenConfig defaults).
func NewSynth(cfg GenConfig) *Synth {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed_4ee1_9a4d))
	s := &Synth{cfg: cfg, slugs: movieSlugs(rng, cfg.Movies)}
	s.groups = make([]groupProfile, cfg.Groups)
	for g := range s.groups {
		s.groups[g] = newGroupProfile(rng, g)
	}
	s.drawItems(rng)
	s.budget = activityBudgets(rng, cfg.Users, cfg.Events)
	return s
}

func newGroupProfile(rng *rand.Rand, g int) groupProfile {
	genres := Genres100K[1:] // "unknown" is for movies without data
	p := groupProfile{
		genres: []string{genres[g%len(genres)]},
		age:    15 + 45*rng.Float64(),
		male:   0.2 + 0.6*rng.Float64(),
	}
	if other := genres[rng.IntN(len(genres))]; other != p.genres[0] {
		p.genres = append(p.genres, other)
	}
	for range 3 {
		p.occupations = append(p.occupations, Occupations100K[rng.IntN(len(Occupations100K))])
	}
	return p
}

func (s *Synth) drawItems(rng *rand.Rand) {
	n, groups := s.cfg.Movies, s.cfg.Groups
	s.items = make([]synthItem, n)
	s.byGroup = make([]sampler, groups)
	rank := rng.Perm(n) // exposure rank, independent of the index
	for i := range s.items {
		it := synthItem{groups: [2]int{rng.IntN(groups), -1}, quality: 2*rng.Float64() - 1}
		if second := rng.IntN(groups); rng.Float64() < secondGenre && second != it.groups[0] {
			it.groups[1] = second
		}
		exposure := math.Pow(float64(rank[i]+1), -movieZipfS)
		s.all.add(int32(i), exposure)
		s.byGroup[it.groups[0]].add(int32(i), exposure)
		if it.groups[1] >= 0 {
			s.byGroup[it.groups[1]].add(int32(i), secondMember*exposure)
		}
		s.items[i] = it
	}
}

// Config returns the configuration with defaults filled in.
func (s *Synth) Config() GenConfig { return s.cfg }

// Item returns movie i's metadata (0 <= i < Movies); its ID is the slug.
func (s *Synth) Item(i int) ItemInfo {
	info := ItemInfo{ID: s.slugs[i], Title: slugTitle(s.slugs[i])}
	for _, g := range s.items[i].groups {
		if g < 0 {
			continue
		}
		for _, genre := range s.groups[g].genres {
			if !containsString(info.Genres, genre) {
				info.Genres = append(info.Genres, genre)
			}
		}
	}
	return info
}

// ItemGroup returns movie i's planted primary group.
func (s *Synth) ItemGroup(i int) int { return s.items[i].groups[0] }

// UserGroup returns user u's planted primary group (0 <= u < Users).
func (s *Synth) UserGroup(u int) int { return s.user(u).groups[0] }

// User returns user u's demographics; the ID is u+1 in decimal.
func (s *Synth) User(u int) UserInfo { return s.user(u).info }

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// synthUser is one user's taste and their own random stream.
type synthUser struct {
	info   UserInfo
	groups [2]int
	taste  [2]float64
	rng    *rand.Rand
	start  time.Time
}

func (s *Synth) user(u int) synthUser {
	rng := rand.New(rand.NewPCG(uint64(s.cfg.Seed), uint64(u)^0x05e4_7a57e))
	x := synthUser{groups: [2]int{rng.IntN(s.cfg.Groups), -1}, taste: [2]float64{1, 0}, rng: rng}
	if second := rng.IntN(s.cfg.Groups); rng.Float64() < secondTaste && second != x.groups[0] {
		x.groups[1], x.taste = second, [2]float64{1 - secondWeight, secondWeight}
	}
	p := s.groups[x.groups[0]]
	x.info = UserInfo{ID: strconv.Itoa(u + 1), Gender: "F", Occupation: p.occupations[rng.IntN(len(p.occupations))]}
	x.info.Age = int(math.Max(7, math.Min(73, math.Round(p.age+8*rng.NormFloat64()))))
	if rng.Float64() < p.male {
		x.info.Gender = "M"
	}
	if rng.Float64() < 0.3 { // not everyone's job follows their taste
		x.info.Occupation = Occupations100K[rng.IntN(len(Occupations100K))]
	}
	x.start = s.cfg.Start.Add(time.Duration(rng.Int64N(int64(activitySpan))).Truncate(time.Second))
	return x
}

// pick draws a movie for a session of user x.
func (s *Synth) pick(x *synthUser) int {
	if x.rng.Float64() < exploreShare {
		return int(s.all.draw(x.rng))
	}
	g := x.groups[0]
	if x.groups[1] >= 0 && x.rng.Float64() < x.taste[1] {
		g = x.groups[1]
	}
	if len(s.byGroup[g].ids) == 0 { // more groups than movies
		return int(s.all.draw(x.rng))
	}
	return int(s.byGroup[g].draw(x.rng))
}

// liking is how much user x likes movie i, in (0, 1).
func (s *Synth) liking(x *synthUser, i int) float64 {
	it := s.items[i]
	var a float64
	for k, g := range x.groups {
		if g < 0 {
			continue
		}
		if it.groups[0] == g {
			a += x.taste[k]
		} else if it.groups[1] == g {
			a += x.taste[k] * secondMember
		}
	}
	return sigmoid(5*(a-0.45) + 0.8*it.quality + 0.7*x.rng.NormFloat64())
}

func (x *synthUser) nextTime(t time.Time) time.Time {
	gap := time.Duration(x.rng.ExpFloat64() * float64(meanSessionGap))
	return t.Add(gap.Truncate(time.Second) + time.Second)
}
