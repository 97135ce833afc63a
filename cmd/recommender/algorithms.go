package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/reelguard/reelguard/recommender"
)

// algoOrder lists the algorithms train and eval know, in the order eval
// compares them and auto considers them.
var algoOrder = []string{"popularity", "als", "ease", "itemknn"}

// trainer trains one algorithm on in under a version name.
type trainer func(in []recommender.Interaction, version string) (*recommender.Model, error)

// algoConfig is every algorithm's hyperparameters, as flags set them.
type algoConfig struct {
	ALS        recommender.ALSConfig
	EASE       recommender.EASEConfig
	KNN        recommender.KNNConfig
	Popularity recommender.PopularityConfig
}

// algoFlags registers every hyperparameter as a flag, defaulting to the
// library's defaults, and returns the config they fill.
func algoFlags(fs *flag.FlagSet) *algoConfig {
	c := &algoConfig{}
	als := recommender.DefaultALSConfig()
	fs.IntVar(&c.ALS.Factors, "factors", als.Factors, "als: latent factors per user and item")
	fs.IntVar(&c.ALS.Iterations, "iterations", als.Iterations, "als: alternating iterations")
	float32Var(fs, &c.ALS.Regularization, "regularization", als.Regularization, "als: L2 regularization")
	float32Var(fs, &c.ALS.Alpha, "alpha", als.Alpha, "als: confidence = 1 + alpha * weight (summed weights of a user-item pair)")
	fs.IntVar(&c.ALS.CGSteps, "cg-steps", als.CGSteps, "als: conjugate-gradient steps per vector and iteration")
	fs.IntVar(&c.ALS.Workers, "workers", als.Workers, "parallel goroutines for als, ease and itemknn (results do not depend on it)")
	fs.Int64Var(&c.ALS.Seed, "seed", 1, "seed for als's initial factors and auto's validation split")
	fs.Float64Var(&c.EASE.Lambda, "lambda", recommender.DefaultEASELambda, "ease: L2 penalty on the item-item weights")
	fs.IntVar(&c.EASE.MaxItems, "ease-max-items", recommender.DefaultEASEMaxItems, "ease: refuse catalogs larger than this (the inversion costs items³)")
	fs.IntVar(&c.KNN.Neighbors, "neighbors", recommender.DefaultKNNNeighbors, "itemknn: neighbours kept per item")
	fs.Float64Var(&c.KNN.Shrink, "shrink", recommender.DefaultKNNShrink, "itemknn: similarity shrinkage for rare co-occurrences")
	fs.DurationVar(&c.Popularity.HalfLife, "half-life", 0, "decay a user's popularity vote by age with this half-life (0: no decay); every kind's cold-start list")
	fs.IntVar(&c.Popularity.MinSupport, "min-support", defaultMinSupport, "never recommend an item fewer distinct users than this touched in training (1: every item); every algorithm")
	fs.Func("users", "MovieLens user file (u.user or users.dat): users in it without interactions get their age, gender and occupation group's popular list", func(path string) error {
		users, err := readUsers(path, fs.Output())
		c.Popularity.Users = users
		return err
	})
	return c
}

// defaultMinSupport keeps every item. On MovieLens-100k-shaped synthetic
// data (`recommender gen --format movielens`, every movie rated 10+ times)
// thresholds up to 20 left eval's figures unchanged to four decimals, since
// rarely touched items rarely reach a top 10; 2 would cost as little and
// stop one account from making a movie recommendable, but it needs two
// users per movie, which the smallest training data here lacks.
const defaultMinSupport = 1

// readUsers reads a MovieLens user file, reporting bad lines on stderr.
func readUsers(path string, stderr io.Writer) (map[string]recommender.UserInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	users, bad, err := recommender.ReadUsers(f)
	reportBadLines(stderr, path, bad, -1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return users, nil
}

// check refuses zero or negative flags: in the configs a zero means
// "default", which would silently ignore --factors 0.
func (c *algoConfig) check() error {
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"factors", c.ALS.Factors > 0}, {"iterations", c.ALS.Iterations > 0}, {"regularization", c.ALS.Regularization > 0},
		{"alpha", c.ALS.Alpha > 0}, {"cg-steps", c.ALS.CGSteps > 0}, {"workers", c.ALS.Workers > 0},
		{"lambda", c.EASE.Lambda > 0}, {"ease-max-items", c.EASE.MaxItems > 0},
		{"neighbors", c.KNN.Neighbors > 0}, {"shrink", c.KNN.Shrink >= 0}, {"half-life", c.Popularity.HalfLife >= 0},
		{"min-support", c.Popularity.MinSupport > 0},
	} {
		if !f.ok {
			return fmt.Errorf("%w: --%s must be positive", errUsage, f.name)
		}
	}
	if err := c.ALS.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// trainers returns each algorithm's trainer by name.
func (c *algoConfig) trainers() map[string]trainer {
	als, ease, knn := c.ALS, c.EASE, c.KNN
	als.Popularity, ease.Popularity, knn.Popularity = c.Popularity, c.Popularity, c.Popularity
	ease.Workers, knn.Workers = als.Workers, als.Workers
	return map[string]trainer{
		"popularity": func(in []recommender.Interaction, v string) (*recommender.Model, error) {
			return recommender.TrainPopularityWith(in, v, c.Popularity), nil
		},
		"als": func(in []recommender.Interaction, v string) (*recommender.Model, error) {
			return recommender.TrainALS(in, v, als)
		},
		"ease": func(in []recommender.Interaction, v string) (*recommender.Model, error) {
			return recommender.TrainEASE(in, v, ease)
		},
		"itemknn": func(in []recommender.Interaction, v string) (*recommender.Model, error) {
			return recommender.TrainItemKNN(in, v, knn)
		},
	}
}

// evalFuncs adapts the trainers to recommender.Evaluate.
// Evaluation asks only about users with training data, so the demographic
// lists, which serve users without any, are left out.
func (c *algoConfig) evalFuncs() map[string]recommender.TrainFunc {
	noGroups := *c
	noGroups.Popularity.Users = nil
	out := make(map[string]recommender.TrainFunc)
	for name, train := range noGroups.trainers() {
		out[name] = func(in []recommender.Interaction) (*recommender.Model, error) { return train(in, "eval-"+name) }
	}
	return out
}

// autoSelect picks the algorithm with the best nDCG on a validation split of
// in (recommender eval's protocol), on a seeded sample of maxValidationUsers
// users when there are more; EASE competes only when the catalog fits its
// limit. It reports the comparison on w.
func (c *algoConfig) autoSelect(in []recommender.Interaction, w io.Writer) (string, error) {
	candidates := slices.Clone(algoOrder)
	if items := distinctItems(in); items > c.EASE.MaxItems {
		candidates = slices.DeleteFunc(candidates, func(n string) bool { return n == "ease" })
	}
	sample := validationSample(in, maxValidationUsers, c.ALS.Seed)
	results, err := evaluateEach(sample, c.evalFuncs(), candidates, recommender.EvalConfig{Seed: c.ALS.Seed})
	if errors.Is(err, recommender.ErrNoTestUsers) {
		fmt.Fprintln(w, "recommender: auto: too little data to validate on (no user has two items); chose popularity")
		return "popularity", nil
	}
	if err != nil {
		return "", fmt.Errorf("auto: %w", err)
	}
	best := results[0]
	var scores []string
	for _, r := range results {
		scores = append(scores, fmt.Sprintf("%s %.4f", r.Algo, r.NDCG))
		if r.NDCG > best.NDCG {
			best = r
		}
	}
	fmt.Fprintf(w, "recommender: auto: validation nDCG@10: %s; chose %s\n", strings.Join(scores, ", "), best.Algo)
	return best.Algo, nil
}

func distinctItems(in []recommender.Interaction) int {
	seen := make(map[string]struct{})
	for _, x := range in {
		seen[x.Item] = struct{}{}
	}
	return len(seen)
}
