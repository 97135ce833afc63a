package main

import (
	"bufio"
	"errors"
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
	version := fs.String("version", "", `model version (default "pop-<unix time>")`)
	halfLife := fs.Duration("half-life", 0, "decay a user's vote by age with this half-life (0: no decay)")
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
	if *version == "" {
		*version = "pop-" + strconv.FormatInt(time.Now().Unix(), 10)
	}
	in, err := readInteractions(*data, *format, stderr)
	if err != nil {
		return err
	}
	m := recommender.TrainPopularityWith(in, *version, recommender.PopularityConfig{HalfLife: *halfLife})
	if err := recommender.Save(*out, m); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	meta := m.Meta()
	fmt.Fprintf(stdout, "trained %s (%s): %d users, %d items, %d interactions -> %s\n",
		meta.Version, meta.Kind, meta.Users, meta.Items, meta.Interactions, *out)
	return nil
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
