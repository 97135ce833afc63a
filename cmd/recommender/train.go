package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
)

// maxLogLine bounds one course log line; recommendation lines with 20 long
// slugs stay far below it.
const maxLogLine = 1 << 20

// errNoInteractions means the data held nothing to train on.
var errNoInteractions = errors.New("no interactions")

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	data := fs.String("data", "", "input file (required)")
	format := fs.String("format", "movielog", "input format: movielens (u.data, ratings.dat, ratings.csv) or movielog (course log lines)")
	out := fs.String("out", "", "model directory to write (required)")
	algo := fs.String("algo", "als", "algorithm: als (implicit ALS, popular list for unknown users) or popularity")
	version := fs.String("version", "", `model version (default "<algo>-<unix time>", e.g. "als-1700000000")`)
	halfLife := fs.Duration("half-life", 0, "decay a user's popularity vote by age with this half-life (0: no decay); for als, the cold-start list")
	defaults := recommender.ALSConfig{}.WithDefaults()
	var als recommender.ALSConfig
	fs.IntVar(&als.Factors, "factors", defaults.Factors, "als: latent factors per user and item")
	fs.IntVar(&als.Iterations, "iterations", defaults.Iterations, "als: alternating iterations")
	float32Var(fs, &als.Regularization, "regularization", defaults.Regularization, "als: L2 regularization")
	float32Var(fs, &als.Alpha, "alpha", defaults.Alpha, "als: confidence = 1 + alpha * weight (summed weights of a user-item pair)")
	fs.IntVar(&als.CGSteps, "cg-steps", defaults.CGSteps, "als: conjugate-gradient steps per vector and iteration")
	fs.IntVar(&als.Workers, "workers", defaults.Workers, "als: parallel solver goroutines (results do not depend on it)")
	fs.Int64Var(&als.Seed, "seed", 1, "als: seed for the initial factors")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for name, v := range map[string]string{"data": *data, "out": *out} {
		if err := required(fs, name, v); err != nil {
			return err
		}
	}
	if *format != "movielens" && *format != "movielog" {
		return fmt.Errorf("%w: train: --format must be movielens or movielog, not %q", errUsage, *format)
	}
	if *algo != "als" && *algo != "popularity" {
		return fmt.Errorf("%w: train: --algo must be als or popularity, not %q", errUsage, *algo)
	}
	if err := positive(als); err != nil {
		return err
	}
	if *version == "" {
		prefix := map[string]string{"als": "als-", "popularity": "pop-"}[*algo]
		*version = prefix + strconv.FormatInt(time.Now().Unix(), 10)
	}
	in, err := readInteractions(*data, *format, stderr)
	if err != nil {
		return err
	}
	pop := recommender.PopularityConfig{HalfLife: *halfLife}
	var m *recommender.Model
	if *algo == "popularity" {
		m = recommender.TrainPopularityWith(in, *version, pop)
	} else {
		als.Popularity = pop
		if m, err = recommender.TrainALS(in, *version, als); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	if err := recommender.Save(*out, m); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	meta := m.Meta()
	fmt.Fprintf(stdout, "trained %s (%s): %d users, %d items, %d interactions -> %s\n",
		meta.Version, meta.Kind, meta.Users, meta.Items, meta.Interactions, *out)
	return nil
}

// positive refuses zero or negative ALS flags: in the config a zero means
// "default", which would silently ignore --factors 0.
func positive(c recommender.ALSConfig) error {
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"factors", c.Factors > 0}, {"iterations", c.Iterations > 0}, {"regularization", c.Regularization > 0},
		{"alpha", c.Alpha > 0}, {"cg-steps", c.CGSteps > 0}, {"workers", c.Workers > 0},
	} {
		if !f.ok {
			return fmt.Errorf("%w: train: --%s must be positive", errUsage, f.name)
		}
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("%w: train: %w", errUsage, err)
	}
	return nil
}

// float32Var defines a float32 flag.
func float32Var(fs *flag.FlagSet, p *float32, name string, value float32, usage string) {
	*p = value
	fs.Func(name, fmt.Sprintf("%s (default %v)", usage, value), func(s string) error {
		v, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return err
		}
		*p = float32(v)
		return nil
	})
}

func readInteractions(path, format string, stderr io.Writer) ([]recommender.Interaction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	var in []recommender.Interaction
	if format == "movielens" {
		in, err = recommender.ReadMovieLens(f)
	} else {
		in, err = readMovielog(f, stderr)
	}
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("train: %s: %w", path, errNoInteractions)
	}
	return in, nil
}

// readMovielog turns course log lines into interactions: a watch counts 1, a
// rating its value; account and recommendation lines carry no preference. Bad
// lines are skipped and reported; it fails only when no line was valid.
func readMovielog(r io.Reader, stderr io.Writer) ([]recommender.Interaction, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLogLine)
	var (
		in            []recommender.Interaction
		n, valid, bad int
		firstBad      error
	)
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		ev, err := events.ParseLine(sc.Text())
		if err != nil {
			if bad++; firstBad == nil {
				firstBad = fmt.Errorf("line %d: %w", n, err)
			}
			continue
		}
		valid++
		if x, ok := interactionOf(ev); ok {
			in = append(in, x)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "recommender: train: skipped %d bad lines of %d (first: %v)\n", bad, n, firstBad)
	}
	if valid == 0 {
		if firstBad != nil {
			return nil, fmt.Errorf("no valid lines: %w", firstBad)
		}
		return nil, errNoInteractions
	}
	return in, nil
}

func interactionOf(ev events.Event) (recommender.Interaction, bool) {
	x := recommender.Interaction{User: ev.User, Item: ev.Movie, Time: ev.Time}
	switch ev.Kind {
	case events.KindWatch:
		x.Weight = 1
	case events.KindRate:
		x.Weight = float64(ev.Rating)
	default:
		return recommender.Interaction{}, false
	}
	return x, true
}
