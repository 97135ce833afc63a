package recommender

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"time"
)

// KindALS scores items by the dot product of learned user and item factors
// (implicit ALS); users it has never seen get the popular list.
const KindALS Kind = "als"

// ALSConfig tunes TrainALS. Zero fields take the defaults named in their
// comments (see WithDefaults); negative values are refused by Validate.
type ALSConfig struct {
	// Factors is the length of each user and item vector; default 64.
	Factors int
	// Iterations counts alternations (all users, then all items); default 15.
	Iterations int
	// Regularization is the L2 penalty λ on every vector; default 60. Strong
	// regularization suits the few dozen items a typical user has: on
	// MovieLens-100k-shaped synthetic data (`recommender gen --format
	// movielens`) nDCG@10 rose from 0.34 at λ=1 to 0.53 at λ=60, and fell
	// again at 120.
	Regularization float32
	// Alpha turns a weight into confidence: c = 1 + Alpha*w, where w sums a
	// user's interaction weights with one item (a rating, or the course logs'
	// log-scaled minutes and ratings). Default 1: the weights are already on a
	// small scale (1 to about 10), and Hu, Koren and Volinsky's 40 was for raw
	// watch counts; at 40 the observed pairs dwarf the unobserved ones and
	// nDCG@10 fell by half on synthetic data.
	Alpha float32
	// CGSteps is conjugate-gradient steps per vector and half-iteration,
	// warm-started from the previous vector as in the implicit library;
	// default 3.
	CGSteps int
	// Workers solve vectors in parallel; default runtime.GOMAXPROCS(0). Each
	// vector is solved independently and the Gram matrix is summed in a fixed
	// order, so results do not depend on Workers.
	Workers int
	// Seed draws the initial factors; any value, 0 included, is a seed.
	Seed int64
	// Popularity tunes the cold-start list (and sets TrainedAt).
	Popularity PopularityConfig
	// Progress, when not nil, is called after each iteration with the
	// iterations done, the total and how long the iteration took (for a log
	// line or a progress bar). It is not stored in the model.
	Progress func(done, total int, took time.Duration)
}

// ALS defaults.
const (
	DefaultALSFactors        = 64
	DefaultALSIterations     = 15
	DefaultALSRegularization = 60
	DefaultALSAlpha          = 1
	DefaultALSCGSteps        = 3
)

// ErrInvalidConfig marks training parameters that cannot work.
var ErrInvalidConfig = errors.New("invalid config")

// ErrBadInteraction marks training input that cannot be used (for example a
// negative or non-finite weight).
var ErrBadInteraction = errors.New("bad interaction")

// DefaultALSConfig returns the defaults, with Workers from GOMAXPROCS.
func DefaultALSConfig() ALSConfig { return ALSConfig{}.WithDefaults() }

// WithDefaults returns c with every zero field set to its default.
func (c ALSConfig) WithDefaults() ALSConfig {
	if c.Factors == 0 {
		c.Factors = DefaultALSFactors
	}
	if c.Iterations == 0 {
		c.Iterations = DefaultALSIterations
	}
	if c.Regularization == 0 {
		c.Regularization = DefaultALSRegularization
	}
	if c.Alpha == 0 {
		c.Alpha = DefaultALSAlpha
	}
	if c.CGSteps == 0 {
		c.CGSteps = DefaultALSCGSteps
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

// Validate refuses values no default can fix.
func (c ALSConfig) Validate() error {
	finite := func(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }
	switch {
	case c.Factors < 0 || c.Factors > maxFactors:
		return fmt.Errorf("%w: als factors %d, want 1..%d", ErrInvalidConfig, c.Factors, maxFactors)
	case c.Iterations < 0:
		return fmt.Errorf("%w: als iterations %d is negative", ErrInvalidConfig, c.Iterations)
	case c.Regularization < 0 || !finite(c.Regularization):
		return fmt.Errorf("%w: als regularization %v, want a positive number", ErrInvalidConfig, c.Regularization)
	case c.Alpha < 0 || !finite(c.Alpha):
		return fmt.Errorf("%w: als alpha %v, want a positive number", ErrInvalidConfig, c.Alpha)
	case c.CGSteps < 0:
		return fmt.Errorf("%w: als cg steps %d is negative", ErrInvalidConfig, c.CGSteps)
	case c.Workers < 0:
		return fmt.Errorf("%w: als workers %d is negative", ErrInvalidConfig, c.Workers)
	}
	return nil
}

// maxFactors bounds the vector length: beyond it the f×f solves dominate and
// a typo (6400 for 64) would exhaust memory.
const maxFactors = 1024

// TrainALS fits implicit-feedback ALS (Hu, Koren and Volinsky 2008): every
// (user, item) pair has preference 1 if the user touched the item and 0
// otherwise, weighted by confidence 1 + Alpha*w for touched pairs and 1 for
// the rest. Each half-iteration solves every user's (then every item's) least
// squares problem with a few warm-started conjugate-gradient steps, using the
// Gram matrix of the other side computed once (Takács et al. 2011; the
// implicit library's solver). Users and items are indexed densely in id order.
// The same input, config and Seed give the same model whatever Workers is.
func TrainALS(in []Interaction, version string, cfg ALSConfig) (*Model, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train als: %w", err)
	}
	// The cold-start list needs only in: build it on another core while this
	// one indexes the matrix.
	popular := make(chan *Model, 1)
	go func() { popular <- TrainPopularityWith(in, version, cfg.Popularity) }()
	data, err := newALSData(in, cfg.Alpha)
	m := <-popular
	if err != nil {
		return nil, fmt.Errorf("train als: %w", err)
	}
	// The model answers "seen" from its own matrix (seenFromALS): drop the
	// popularity model's per-user sets, a gigabyte at course scale, before
	// the factors are allocated.
	m.seen = nil
	users, items := data.train(cfg)
	if !allFinite(users) || !allFinite(items) {
		return nil, fmt.Errorf("train als: factors diverged to NaN or infinity; lower alpha or raise regularization")
	}
	m.meta.Kind = KindALS
	m.meta.Params = alsParams(cfg, m.meta.Params)
	m.als = &alsFactors{
		factors:  cfg.Factors,
		users:    data.users,
		userRow:  data.userRow,
		items:    data.items,
		userVecs: users,
		itemVecs: items,
		seenPtr:  data.byUser.ptr,
		seenIdx:  data.byUser.idx,
	}
	return m, nil
}

// train runs the iterations from seeded random factors and returns the user
// and item factors.
func (d *alsData) train(cfg ALSConfig) (users, items []float32) {
	f := cfg.Factors
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0xa15_5eed))
	users, items = randomFactors(rng, len(d.users), f), randomFactors(rng, len(d.items), f)
	s := newALSSolver(f, cfg)
	for it := range cfg.Iterations {
		start := time.Now()
		s.solve(users, items, d.byUser)
		s.solve(items, users, d.byItem)
		if cfg.Progress != nil {
			cfg.Progress(it+1, cfg.Iterations, time.Since(start))
		}
	}
	return users, items
}

func alsParams(cfg ALSConfig, popularity map[string]string) map[string]string {
	p := map[string]string{
		"factors":        strconv.Itoa(cfg.Factors),
		"iterations":     strconv.Itoa(cfg.Iterations),
		"regularization": strconv.FormatFloat(float64(cfg.Regularization), 'g', -1, 32),
		"alpha":          strconv.FormatFloat(float64(cfg.Alpha), 'g', -1, 32),
		"cg_steps":       strconv.Itoa(cfg.CGSteps),
		"seed":           strconv.FormatInt(cfg.Seed, 10),
	}
	for k, v := range popularity {
		p["popularity_"+k] = v
	}
	return p
}

// randomFactors draws rows×f values in [0, 0.01), as implicit does: small
// enough that the first solves are dominated by the data.
func randomFactors(rng *rand.Rand, rows, f int) []float32 {
	out := make([]float32, rows*f)
	for i := range out {
		out[i] = rng.Float32() * 0.01
	}
	return out
}

func allFinite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

func indexOf(ids []string) map[string]int32 {
	m := make(map[string]int32, len(ids))
	for i, id := range ids {
		m[id] = int32(i)
	}
	return m
}

// csr is a sparse matrix in compressed rows: row r's columns are
// idx[ptr[r]:ptr[r+1]], ascending, with values val (confidence minus one).
type csr struct {
	ptr []int64
	idx []int32
	val []float32
}

func (m csr) rows() int { return len(m.ptr) - 1 }

// alsData is the interaction matrix by user and by item.
type alsData struct {
	users, items   []string // dense index -> id, ascending
	userRow        map[string]int32
	byUser, byItem csr
}

// newALSData indexes in: users and items numbered in id order, repeated
// (user, item) pairs merged by summing their weights.
func newALSData(in []Interaction, alpha float32) (*alsData, error) {
	ids, err := numberIDs(in)
	if err != nil {
		return nil, err
	}
	d := &alsData{users: ids.users.sorted(), items: ids.items.sorted(), userRow: ids.users.ids}
	userRank, itemRank := ids.users.rank(d.users), ids.items.rank(d.items)
	for u, r := range d.userRow {
		d.userRow[u] = userRank[r]
	}
	d.byUser = userMatrix(in, ids, userRank, itemRank, alpha)
	d.byItem = transpose(d.byUser, len(d.items))
	return d, nil
}

// userMatrix buckets in by user (a counting sort), then sorts each row by
// item and merges repeats; values are alpha times the summed weights.
func userMatrix(in []Interaction, ids provisionalIDs, userRank, itemRank []int32, alpha float32) csr {
	rows := len(userRank)
	ptr := make([]int64, rows+1)
	for _, u := range ids.user {
		ptr[userRank[u]+1]++
	}
	for r := range rows {
		ptr[r+1] += ptr[r]
	}
	type entry struct {
		col int32
		w   float32
	}
	entries, fill := make([]entry, len(in)), slices.Clone(ptr[:rows])
	for j, u := range ids.user {
		r := userRank[u]
		entries[fill[r]] = entry{itemRank[ids.item[j]], alpha * float32(in[j].Weight)}
		fill[r]++
	}
	m := csr{ptr: make([]int64, rows+1), idx: make([]int32, 0, len(in)), val: make([]float32, 0, len(in))}
	for r := range rows {
		row := entries[ptr[r]:ptr[r+1]]
		slices.SortStableFunc(row, func(a, b entry) int { return int(a.col) - int(b.col) })
		for j, e := range row {
			if j > 0 && e.col == row[j-1].col {
				m.val[len(m.val)-1] += e.w
				continue
			}
			m.idx = append(m.idx, e.col)
			m.val = append(m.val, e.w)
		}
		m.ptr[r+1] = int64(len(m.idx))
	}
	return m
}

// provisionalIDs numbers users and items in order of first appearance, and
// records each interaction's pair of numbers.
type provisionalIDs struct {
	users, items idNumbers
	user, item   []int32 // per interaction
}

// idNumbers numbers distinct ids in order of first appearance.
type idNumbers struct {
	ids   map[string]int32
	names []string
}

func (n *idNumbers) number(s string) int32 {
	if k := len(n.names); k > 0 && n.names[k-1] == s { // interactions come grouped
		return int32(k - 1)
	}
	id, ok := n.ids[s]
	if !ok {
		id = int32(len(n.names))
		n.ids[s] = id
		n.names = append(n.names, s)
	}
	return id
}

// sorted returns the ids in ascending order.
func (n *idNumbers) sorted() []string {
	s := slices.Clone(n.names)
	slices.Sort(s)
	return s
}

// rank maps each provisional number to its index in sorted.
func (n *idNumbers) rank(sorted []string) []int32 {
	r := make([]int32, len(sorted))
	for i, s := range sorted {
		r[n.ids[s]] = int32(i)
	}
	return r
}

// numberIDs checks every weight and numbers the users and items of in.
func numberIDs(in []Interaction) (provisionalIDs, error) {
	p := provisionalIDs{users: idNumbers{ids: map[string]int32{}}, items: idNumbers{ids: map[string]int32{}},
		user: make([]int32, len(in)), item: make([]int32, len(in))}
	for i, x := range in {
		if math.IsNaN(x.Weight) || math.IsInf(x.Weight, 0) || x.Weight < 0 {
			return provisionalIDs{}, fmt.Errorf("%w: interaction %d (user %q, item %q) has weight %v, want a finite number >= 0",
				ErrBadInteraction, i+1, clip(x.User), clip(x.Item), x.Weight)
		}
		if len(p.users.names) == math.MaxInt32 || len(p.items.names) == math.MaxInt32 {
			return provisionalIDs{}, fmt.Errorf("%w: more than %d users or items", ErrBadInteraction, math.MaxInt32-1)
		}
		p.user[i], p.item[i] = p.users.number(x.User), p.items.number(x.Item)
	}
	return p, nil
}

// transpose returns m by columns; rows come out ascending within each column.
func transpose(m csr, cols int) csr {
	t := csr{ptr: make([]int64, cols+1), idx: make([]int32, len(m.idx)), val: make([]float32, len(m.val))}
	for _, c := range m.idx {
		t.ptr[c+1]++
	}
	for c := range cols {
		t.ptr[c+1] += t.ptr[c]
	}
	fill := slices.Clone(t.ptr[:cols])
	for r := range m.rows() {
		for j := m.ptr[r]; j < m.ptr[r+1]; j++ {
			c := m.idx[j]
			t.idx[fill[c]], t.val[fill[c]] = int32(r), m.val[j]
			fill[c]++
		}
	}
	return t
}
