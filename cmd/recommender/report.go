package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

// reportFlags are report's flags.
type reportFlags struct {
	data, format, users, items, model, keys, out string
	asJSON, noCurve                              bool
	cfg                                          recommender.ReportConfig
}

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	f := &reportFlags{}
	fs.StringVar(&f.data, "data", "", "the data the model was trained on (required)")
	fs.StringVar(&f.format, "format", "movielog", "input format: movielens (u.data, ratings.dat, ratings.csv) or movielog (course log lines)")
	fs.StringVar(&f.users, "users", "", "MovieLens user file (u.user or users.dat): demographics and quality by group")
	fs.StringVar(&f.items, "items", "", "MovieLens item file (u.item or movies.dat): genre mixes and calibration; course slugs match titles")
	fs.StringVar(&f.model, "model", "", "model root (or model folder) to report on (required)")
	fs.StringVar(&f.keys, "keys", "", "keys directory holding model.pub (default $REELGUARD_DATA/keys)")
	fs.StringVar(&f.out, "out", "", "file to write; - or empty: standard output")
	fs.BoolVar(&f.asJSON, "json", false, "write the numbers as JSON instead of HTML")
	fs.BoolVar(&f.noCurve, "no-curve", false, "skip retraining ALS iteration by iteration (the training curve)")
	fs.IntVar(&f.cfg.K, "k", recommender.DefaultEvalK, "list length")
	fs.Int64Var(&f.cfg.Seed, "seed", 1, "seed of the held-out split, the bootstrap and the samples")
	fs.IntVar(&f.cfg.Resamples, "resamples", recommender.DefaultBootstrapResamples, "bootstrap resamples per group")
	fs.IntVar(&f.cfg.MaxUsers, "max-users", recommender.DefaultReportUsers, "measure the lists of at most this many users (a seeded sample)")
	fs.IntVar(&f.cfg.MinGroupUsers, "min-group-users", recommender.DefaultMinGroupUsers, "held-out users a group needs to count in a gap")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.check(fs); err != nil {
		return err
	}
	r, err := f.build(stderr)
	if err != nil {
		return err
	}
	return f.write(r, stdout, stderr)
}

func (f *reportFlags) check(fs *flag.FlagSet) error {
	for name, v := range map[string]string{"data": f.data, "model": f.model} {
		if err := required(fs, name, v); err != nil {
			return err
		}
	}
	switch {
	case f.format != "movielens" && f.format != "movielog":
		return fmt.Errorf("%w: report: --format must be movielens or movielog, not %q", errUsage, f.format)
	case f.cfg.K <= 0 || f.cfg.Resamples <= 0 || f.cfg.MaxUsers <= 0 || f.cfg.MinGroupUsers <= 0:
		return fmt.Errorf("%w: report: --k, --resamples, --max-users and --min-group-users must be positive", errUsage)
	}
	return nil
}

// build reads the model, the data and the metadata files and measures.
func (f *reportFlags) build(stderr io.Writer) (*recommender.Report, error) {
	start := time.Now()
	m, err := modelLoader(f.keys)(f.model)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	in, err := readInteractions(f.data, f.format, stderr)
	if err != nil {
		return nil, err
	}
	if f.users != "" {
		if f.cfg.Users, err = readUsers(f.users, stderr); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	if f.items != "" {
		if f.cfg.Items, err = readItems(f.items, stderr); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	f.cfg.NoCurve = f.noCurve
	train := feedbackTrainer() // train's defaults, as the feedback loop's candidates
	f.cfg.Retrain = func(kind recommender.Kind, in []recommender.Interaction) (*recommender.Model, error) {
		return train(kind, in, "report-"+string(kind))
	}
	r, err := recommender.BuildReport(in, m, f.cfg)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r.Generated = time.Now().UTC().Truncate(time.Second)
	f.history(r, m)
	fmt.Fprintf(stderr, "recommender: report on %s measured in %s\n", m.Version(), time.Since(start).Round(10*time.Millisecond))
	return r, nil
}

// history adds the lineage and the feedback loop's retrains when --model
// is a model root; a plain folder has only itself.
func (f *reportFlags) history(r *recommender.Report, m *recommender.Model) {
	pub, err := recommender.LoadVerifyKey(keysDir(f.keys))
	if err == nil {
		r.Lineage, err = recommender.Lineage(f.model, pub)
	}
	if err != nil || len(r.Lineage) == 0 {
		r.Lineage = recommender.LineageOf(m)
		if !errors.Is(err, recommender.ErrNoCurrent) && err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("lineage: %v", err))
		}
	}
	decisions, skipped, err := recommender.ReadFeedbackDecisions(f.model)
	r.Retrains = decisions
	if err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("retrains: %v", err))
	}
	if skipped > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("retrains: %d unreadable lines of the decisions log skipped", skipped))
	}
}

// write renders r as HTML or JSON to --out (atomically) or stdout.
func (f *reportFlags) write(r *recommender.Report, stdout, stderr io.Writer) error {
	var buf bytes.Buffer
	if f.asJSON {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	} else if err := r.WriteHTML(&buf); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if f.out == "" || f.out == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	if err := writeReportFile(f.out, buf.Bytes()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(stderr, "recommender: wrote %s\n", f.out)
	return nil
}

// writeReportFile writes data to a temporary file beside path and renames
// it into place, so a reader never sees half a report.
func writeReportFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err = errors.Join(err, tmp.Chmod(0o644), tmp.Close()); err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// readItems reads a MovieLens item file, reporting bad lines on stderr.
func readItems(path string, stderr io.Writer) (map[string]recommender.ItemInfo, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	items, bad, err := recommender.ReadItems(file)
	reportBadLines(stderr, path, bad, -1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return items, nil
}

// logWriter logs each write (a reader's report of skipped lines) as a
// warning, for readers that report to a writer where only a logger is at hand.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Warn(strings.TrimSpace(string(p)))
	return len(p), nil
}
