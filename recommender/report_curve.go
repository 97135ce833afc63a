package recommender

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// CurvePoint is one ALS iteration of the report's retraining on the
// training half: the training loss and the held-out nDCG@K. A loss that
// keeps falling while the held-out nDCG falls is overfitting.
type CurvePoint struct {
	Iteration int     `json:"iteration"`
	Loss      float64 `json:"loss"`
	NDCG      float64 `json:"held_out_ndcg"`
}

// alsConfigFromParams rebuilds the ALSConfig a model recorded (see
// alsParams); a missing or unreadable parameter takes its default.
func alsConfigFromParams(p map[string]string) ALSConfig {
	var c ALSConfig
	atoi := func(name string) int { n, _ := strconv.Atoi(p[name]); return max(n, 0) }
	atof := func(name string) float32 { x, _ := strconv.ParseFloat(p[name], 32); return float32(max(x, 0)) }
	c.Factors, c.Iterations, c.CGSteps = atoi("factors"), atoi("iterations"), atoi("cg_steps")
	c.Regularization, c.Alpha = atof("regularization"), atof("alpha")
	c.Seed, _ = strconv.ParseInt(p["seed"], 10, 64)
	c.Popularity.MinSupport = atoi("popularity_min_support")
	if d, err := time.ParseDuration(p["popularity_half_life"]); err == nil && d > 0 {
		c.Popularity.HalfLife = d
	}
	return c.WithDefaults()
}

// alsCurve trains ALS on train as TrainALS does, scoring after every
// iteration the training loss and the held-out nDCG@k of cases; it returns
// the curve and the final model.
func alsCurve(train []Interaction, cases []evalCase, cfg ALSConfig, k int) ([]CurvePoint, *Model, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("training curve: %w", err)
	}
	base := TrainPopularityWith(train, "report-curve", cfg.Popularity)
	data, err := newALSData(train, cfg.Alpha)
	if err != nil {
		return nil, nil, fmt.Errorf("training curve: %w", err)
	}
	f := cfg.Factors
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0xa15_5eed))
	users, items := randomFactors(rng, len(data.users), f), randomFactors(rng, len(data.items), f)
	caseUsers := make([]string, len(cases))
	for i, c := range cases {
		caseUsers[i] = c.user
	}
	s := newALSSolver(f, cfg)
	var curve []CurvePoint
	var m *Model
	for it := range cfg.Iterations {
		s.solve(users, items, data.byUser)
		s.solve(items, users, data.byItem)
		// A fresh model each time: the serving index quantizes the item
		// factors once, on first use.
		m = &Model{meta: base.meta, popular: base.popular, minSupport: base.minSupport, cold: base.cold,
			als: &alsFactors{factors: f, users: data.users, userRow: data.userRow, items: data.items,
				userVecs: users, itemVecs: items, seenPtr: data.byUser.ptr, seenIdx: data.byUser.idx}}
		m.meta.Kind = KindALS
		var ndcg float64
		for i, l := range recommendAll(m, caseUsers, k) {
			ndcg += NDCGAtK(l, cases[i].relevant, k)
		}
		curve = append(curve, CurvePoint{Iteration: it + 1, Loss: alsLoss(users, items, data, cfg), NDCG: ndcg / float64(max(len(cases), 1))})
	}
	if m == nil {
		return nil, nil, fmt.Errorf("training curve: %w: no iterations", ErrInvalidConfig)
	}
	return curve, m, nil
}

// alsLoss is the implicit-ALS objective ALS minimises, per unit of
// confidence (as the implicit library reports it):
//
//	Σ_{u,i} c_ui·(p_ui − x_u·y_i)² + λ·(Σ|x_u|² + Σ|y_i|²)
//	  / (users·items + Σ_observed (c_ui − 1))
//
// with p = 1 and c = 1 + α·w on observed pairs, p = 0 and c = 1 elsewhere.
// The sum over every pair uses Σ_u x_uᵀ(YᵀY)x_u, so it costs a Gram matrix
// and a pass over the observed pairs, not users × items.
func alsLoss(users, items []float32, d *alsData, cfg ALSConfig) float64 {
	f := cfg.Factors
	gram := make([]float64, f*f)
	for i := 0; i+f <= len(items); i += f {
		y := items[i : i+f]
		for a := range f {
			for b := range f {
				gram[a*f+b] += float64(y[a]) * float64(y[b])
			}
		}
	}
	rows := d.byUser.rows()
	const block = 256
	sums := make([]float64, (rows+block-1)/block)
	parallelBlocks(rows, block, cfg.Workers, func() func(lo, hi int) {
		return func(lo, hi int) { sums[lo/block] = userLoss(users, items, gram, d.byUser, f, lo, hi) }
	})
	var loss, conf float64
	for _, s := range sums {
		loss += s
	}
	for _, v := range d.byUser.val {
		conf += float64(v)
	}
	var reg float64
	for _, v := range [][]float32{users, items} {
		for _, x := range v {
			reg += float64(x) * float64(x)
		}
	}
	loss += float64(cfg.Regularization) * reg
	return loss / (float64(len(d.users))*float64(len(d.items)) + conf)
}

// userLoss is the data term of rows lo..hi: x_uᵀ·G·x_u for every pair as if
// unobserved, corrected on the observed pairs to c·(1 − r)².
func userLoss(users, items []float32, gram []float64, m csr, f, lo, hi int) float64 {
	var sum float64
	for u := lo; u < hi; u++ {
		x := users[u*f : (u+1)*f]
		for a := range f {
			var row float64
			for b := range f {
				row += gram[a*f+b] * float64(x[b])
			}
			sum += float64(x[a]) * row
		}
		for j := m.ptr[u]; j < m.ptr[u+1]; j++ {
			r := float64(dot32(x, items[int(m.idx[j])*f:(int(m.idx[j])+1)*f]))
			c := 1 + float64(m.val[j])
			sum += c*(1-r)*(1-r) - r*r
		}
	}
	return sum
}
