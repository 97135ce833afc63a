package recommender

import "slices"

// DiversityStats describes a set of users' top-K lists. Popularity is
// measured on the interactions the lists are judged against (the training
// data): an item's popularity is the share of those users who touched it.
type DiversityStats struct {
	Lists int `json:"lists"` // users with a list
	// Coverage is the share of the data's items recommended to anyone.
	Coverage float64 `json:"coverage"`
	// Gini is the Gini coefficient (see Gini) of the number of lists each
	// of the data's items appears in, never-recommended items included.
	Gini float64 `json:"gini"`
	// AvgPopularity is ARP (Abdollahpouri et al.): the mean over lists of
	// the mean popularity of the list's items.
	AvgPopularity float64 `json:"avg_popularity"`
	// LongTailShare is the share of all recommended slots that hold an item
	// outside the short head (see ShortHead).
	LongTailShare float64 `json:"long_tail_share"`
	// Calibration is the mean CalibrationKL of the lists against their
	// users' histories, over users with a history and a list; nil when no
	// item has genres.
	Calibration *float64 `json:"calibration_kl,omitempty"`
	// Personalization is 1 − mean pairwise Jaccard (see Personalization).
	Personalization float64 `json:"personalization"`
}

// DefaultMaxPairs bounds the pairs of lists Personalization compares.
const DefaultMaxPairs = 100_000

// dataStats is what the measures need of the interactions: each item's
// distinct users, and each user's distinct items, kept as sorted
// (user, item) number pairs (8 bytes a pair, not a map entry).
type dataStats struct {
	itemUsers map[string]int // distinct users per item
	userNum   map[string]int32
	userIDs   []string // by number
	itemIDs   []string // by number
	pairs     []uint64 // user<<32 | item, sorted, distinct
	users     int
}

func newDataStats(in []Interaction) dataStats {
	s := dataStats{itemUsers: map[string]int{}, userNum: map[string]int32{}}
	itemNum := map[string]int32{}
	number := func(ids map[string]int32, list *[]string, id string) uint64 {
		n, ok := ids[id]
		if !ok {
			n = int32(len(*list))
			ids[id] = n
			*list = append(*list, id)
		}
		return uint64(n)
	}
	s.pairs = make([]uint64, len(in))
	for i, x := range in {
		s.pairs[i] = number(s.userNum, &s.userIDs, x.User)<<32 | number(itemNum, &s.itemIDs, x.Item)
	}
	slices.Sort(s.pairs)
	s.pairs = slices.Compact(s.pairs)
	for _, p := range s.pairs {
		s.itemUsers[s.itemIDs[uint32(p)]]++
	}
	s.users = len(s.userIDs)
	return s
}

// history is user's distinct items.
func (s dataStats) history(user string) []string {
	n, ok := s.userNum[user]
	if !ok {
		return nil
	}
	lo, _ := slices.BinarySearch(s.pairs, uint64(n)<<32)
	hi, _ := slices.BinarySearch(s.pairs, uint64(n+1)<<32)
	out := make([]string, hi-lo)
	for i, p := range s.pairs[lo:hi] {
		out[i] = s.itemIDs[uint32(p)]
	}
	return out
}

// ListDiversity measures lists (users[i]'s is lists[i]) against the data
// the model trained on. genres, when not nil, gives an item's genres for
// calibration; seed fixes Personalization's sample of pairs.
func ListDiversity(in []Interaction, users []string, lists [][]string, genres func(string) []string, seed int64) DiversityStats {
	return newDataStats(in).diversity(users, lists, genres, seed)
}

func (s dataStats) diversity(users []string, lists [][]string, genres func(string) []string, seed int64) DiversityStats {
	st := DiversityStats{}
	exposure := s.popularityBias(lists, &st)
	counts := make([]float64, 0, len(s.itemUsers))
	shown := 0
	for item := range s.itemUsers {
		counts = append(counts, exposure[item])
		if exposure[item] > 0 {
			shown++
		}
	}
	if len(s.itemUsers) > 0 {
		st.Coverage = float64(shown) / float64(len(s.itemUsers))
	}
	st.Gini = Gini(counts)
	nonEmpty := slices.DeleteFunc(slices.Clone(lists), func(l []string) bool { return len(l) == 0 })
	st.Personalization = Personalization(nonEmpty, DefaultMaxPairs, seed)
	if genres != nil {
		st.Calibration = s.calibration(users, lists, genres)
	}
	return st
}

// popularityBias sets st's Lists, AvgPopularity and LongTailShare and
// returns how many lists each item appears in.
func (s dataStats) popularityBias(lists [][]string, st *DiversityStats) map[string]float64 {
	exposure := make(map[string]float64, len(s.itemUsers))
	head := ShortHead(s.itemUsers)
	var arp float64
	slots, tail := 0, 0
	for _, l := range lists {
		if len(l) == 0 {
			continue
		}
		st.Lists++
		var pop float64
		for _, item := range l {
			exposure[item]++
			pop += float64(s.itemUsers[item]) / float64(max(s.users, 1))
			if _, ok := head[item]; !ok {
				tail++
			}
		}
		arp += pop / float64(len(l))
		slots += len(l)
	}
	if st.Lists > 0 {
		st.AvgPopularity = arp / float64(st.Lists)
	}
	if slots > 0 {
		st.LongTailShare = float64(tail) / float64(slots)
	}
	return exposure
}

// calibration is the mean CalibrationKL over users with a history and a
// list; nil when no item of any history has a genre.
func (s dataStats) calibration(users []string, lists [][]string, genres func(string) []string) *float64 {
	var sum float64
	n, known := 0, false
	for i, u := range users {
		hist := s.history(u)
		if len(hist) == 0 || len(lists[i]) == 0 {
			continue
		}
		p := GenreDistribution(hist, genres)
		if _, none := p[UnknownGenre]; !none || len(p) > 1 {
			known = true
		}
		sum += CalibrationKL(p, GenreDistribution(lists[i], genres), DefaultCalibrationAlpha)
		n++
	}
	if !known || n == 0 {
		return nil
	}
	kl := sum / float64(n)
	return &kl
}
