package recommender

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// TrainFunc trains one algorithm on the training half of a split.
type TrainFunc func(train []Interaction) (*Model, error)

// EvalConfig sets the evaluation protocol. The zero value is the protocol of
// `recommender eval`: top 10, a quarter of each user's items held out, seed 0.
type EvalConfig struct {
	K            int     // list length scored; default 10
	TestFraction float64 // share of each user's distinct items held out, in (0, 1); default 0.25
	Seed         int64   // seeds SplitPerUser; same seed, same split
}

// Evaluation defaults.
const (
	DefaultEvalK            = 10
	DefaultEvalTestFraction = 0.25
)

// EvalResult is one algorithm's scores, each the mean over evaluated users.
type EvalResult struct {
	Algo                     string
	MAP, NDCG                float64 // AveragePrecision and NDCGAtK at K
	Precision, Recall        float64 // PrecisionAtK and RecallAtK at K
	Coverage                 float64 // distinct recommended items / distinct training items
	Users                    int     // users with at least one held-out item
	TrainTime, RecommendTime time.Duration
}

var (
	// ErrNoTestUsers means the split held out nothing: no user had two items.
	ErrNoTestUsers = errors.New("no user has a held-out item")
	// ErrBadEvalConfig means an EvalConfig field or the algorithm list is invalid.
	ErrBadEvalConfig = errors.New("bad evaluation config")
)

// Evaluate splits in once with SplitPerUser, trains each algorithm named in
// order (all of algos, sorted by name, when order is empty) on the training
// half, and scores every user with a held-out item: their top K by
// Model.Recommend(user, K, true), so items seen in training are excluded, with
// every held-out item relevant. Coverage counts against the distinct items of
// the training half, the only ones a model can know (as Microsoft
// Recommenders' catalog_coverage does). Recommending runs on GOMAXPROCS
// goroutines; RecommendTime is its wall-clock time.
func Evaluate(in []Interaction, algos map[string]TrainFunc, order []string, cfg EvalConfig) ([]EvalResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(order) == 0 {
		order = sortedNames(algos)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: no algorithms", ErrBadEvalConfig)
	}
	for _, name := range order {
		if algos[name] == nil {
			return nil, fmt.Errorf("%w: unknown algorithm %q", ErrBadEvalConfig, name)
		}
	}
	train, test := SplitPerUser(in, cfg.TestFraction, cfg.Seed)
	cases := heldOutCases(test)
	if len(cases) == 0 {
		return nil, ErrNoTestUsers
	}
	catalog := itemSet(train)
	results := make([]EvalResult, 0, len(order))
	for _, name := range order {
		start := time.Now()
		m, err := algos[name](train)
		if err != nil {
			return nil, fmt.Errorf("evaluate %s: train: %w", name, err)
		}
		if m == nil {
			return nil, fmt.Errorf("evaluate %s: train returned no model", name)
		}
		trainTime := time.Since(start)
		r := scoreModel(m, cases, catalog, cfg.K)
		r.Algo, r.TrainTime = name, trainTime
		results = append(results, r)
	}
	return results, nil
}

func (c EvalConfig) withDefaults() (EvalConfig, error) {
	if c.K == 0 {
		c.K = DefaultEvalK
	}
	if c.TestFraction == 0 {
		c.TestFraction = DefaultEvalTestFraction
	}
	if c.K < 0 {
		return c, fmt.Errorf("%w: K %d is negative", ErrBadEvalConfig, c.K)
	}
	if !(c.TestFraction > 0 && c.TestFraction < 1) {
		return c, fmt.Errorf("%w: test fraction %v is not between 0 and 1", ErrBadEvalConfig, c.TestFraction)
	}
	return c, nil
}

// evalCase is one user to score and the items they held out.
type evalCase struct {
	user     string
	relevant map[string]struct{}
}

// heldOutCases groups the test half by user, sorted by user id so that sums
// over users, and so the reported means, do not depend on map order.
func heldOutCases(test []Interaction) []evalCase {
	byUser := make(map[string]map[string]struct{})
	for _, x := range test {
		set := byUser[x.User]
		if set == nil {
			set = make(map[string]struct{})
			byUser[x.User] = set
		}
		set[x.Item] = struct{}{}
	}
	cases := make([]evalCase, 0, len(byUser))
	for user, set := range byUser {
		cases = append(cases, evalCase{user: user, relevant: set})
	}
	slices.SortFunc(cases, func(a, b evalCase) int { return cmp.Compare(a.user, b.user) })
	return cases
}

// userScores is one user's metrics, in EvalResult's order.
type userScores [4]float64

// scoreModel recommends for every case on GOMAXPROCS goroutines, each taking
// every w-th case, then averages in case order.
func scoreModel(m *Model, cases []evalCase, catalog map[string]struct{}, k int) EvalResult {
	start := time.Now()
	scores := make([]userScores, len(cases))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(cases)))
	recommended := make([]map[string]struct{}, workers)
	var wg sync.WaitGroup
	for w := range workers {
		recommended[w] = make(map[string]struct{})
		wg.Go(func() {
			ids := make([]string, 0, k)
			for i := w; i < len(cases); i += workers {
				ids = ids[:0]
				for _, s := range m.Recommend(cases[i].user, k, true) {
					ids = append(ids, s.Item)
					recommended[w][s.Item] = struct{}{}
				}
				rel := cases[i].relevant
				scores[i] = userScores{
					AveragePrecision(ids, rel, k), NDCGAtK(ids, rel, k),
					PrecisionAtK(ids, rel, k), RecallAtK(ids, rel, k),
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var sum userScores
	for _, s := range scores {
		for j := range sum {
			sum[j] += s[j]
		}
	}
	n := float64(len(cases))
	return EvalResult{
		MAP: sum[0] / n, NDCG: sum[1] / n, Precision: sum[2] / n, Recall: sum[3] / n,
		Coverage:      Coverage(union(recommended), catalog),
		Users:         len(cases),
		RecommendTime: elapsed,
	}
}

func itemSet(in []Interaction) map[string]struct{} {
	set := make(map[string]struct{})
	for _, x := range in {
		set[x.Item] = struct{}{}
	}
	return set
}

func union(sets []map[string]struct{}) map[string]struct{} {
	out := make(map[string]struct{})
	for _, s := range sets {
		for item := range s {
			out[item] = struct{}{}
		}
	}
	return out
}

func sortedNames(algos map[string]TrainFunc) []string {
	names := make([]string, 0, len(algos))
	for name := range algos {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
