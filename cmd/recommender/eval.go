package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	data := fs.String("data", "", "input file (required)")
	format := fs.String("format", "movielog", "input format: movielens (u.data, ratings.dat, ratings.csv) or movielog (course log lines)")
	algo := fs.String("algo", strings.Join(algoOrder, ","), "comma-separated algorithms to compare: "+strings.Join(algoOrder, ", "))
	algos := algoFlags(fs)
	var cfg recommender.EvalConfig
	fs.IntVar(&cfg.K, "k", recommender.DefaultEvalK, "length of the recommended list that is scored")
	fs.Float64Var(&cfg.TestFraction, "test-fraction", recommender.DefaultEvalTestFraction, "share of each user's distinct items held out for testing")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "data", *data); err != nil {
		return err
	}
	if *format != "movielens" && *format != "movielog" {
		return fmt.Errorf("%w: eval: --format must be movielens or movielog, not %q", errUsage, *format)
	}
	if cfg.K <= 0 || !(cfg.TestFraction > 0 && cfg.TestFraction < 1) {
		return fmt.Errorf("%w: eval: --k must be positive and --test-fraction between 0 and 1", errUsage)
	}
	order, err := parseAlgoList(*algo)
	if err != nil {
		return err
	}
	in, err := readInteractions(*data, *format, stderr)
	if err != nil {
		return err
	}
	if err := algos.check(); err != nil {
		return err
	}
	cfg.Seed = algos.ALS.Seed // --seed seeds the split as well as ALS
	results, err := recommender.Evaluate(in, algos.evalFuncs(), order, cfg)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return printEvalTable(stdout, results, cfg.K)
}

// parseAlgoList splits --algo and refuses unknown or repeated names.
func parseAlgoList(s string) ([]string, error) {
	var order []string
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case !slices.Contains(algoOrder, name):
			return nil, fmt.Errorf("%w: eval: unknown algorithm %q (have %s)", errUsage, name, strings.Join(algoOrder, ", "))
		case slices.Contains(order, name):
			return nil, fmt.Errorf("%w: eval: algorithm %q listed twice", errUsage, name)
		}
		order = append(order, name)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: eval: --algo names no algorithm", errUsage)
	}
	return order, nil
}

func printEvalTable(w io.Writer, results []recommender.EvalResult, k int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "algo\tMAP@%d\tnDCG@%d\tP@%d\tR@%d\tcoverage\tusers\ttrain\trecommend\n", k, k, k, k)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%d\t%s\t%s\n",
			r.Algo, r.MAP, r.NDCG, r.Precision, r.Recall, r.Coverage, r.Users,
			roundDuration(r.TrainTime), roundDuration(r.RecommendTime))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("eval: write: %w", err)
	}
	return nil
}

// roundDuration keeps about three significant digits.
func roundDuration(d time.Duration) time.Duration {
	for unit := time.Duration(1); unit < time.Hour; unit *= 10 {
		if d < 1000*unit {
			return d.Round(unit)
		}
	}
	return d.Round(time.Second)
}
