package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
)

func runGen(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gen", stderr)
	out := fs.String("out", "", "file to write course log lines to (required; - for stdout)")
	var cfg recommender.GenConfig
	fs.IntVar(&cfg.Users, "users", recommender.DefaultGenUsers, "number of users")
	fs.IntVar(&cfg.Movies, "movies", recommender.DefaultGenMovies, "number of movies")
	fs.IntVar(&cfg.Events, "events", recommender.DefaultGenEvents, "number of watch and rate events")
	fs.Int64Var(&cfg.Seed, "seed", 1, "random seed; the same seed writes the same file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "out", *out); err != nil {
		return err
	}
	if cfg.Users <= 0 || cfg.Movies <= 0 || cfg.Events <= 0 {
		return fmt.Errorf("%w: gen: --users, --movies and --events must be positive", errUsage)
	}
	evs := recommender.Generate(cfg)
	if *out == "-" {
		return writeEvents(stdout, evs)
	}
	if err := writeEventsFile(*out, evs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d events to %s\n", len(evs), *out)
	return nil
}

// writeEventsFile writes to a temporary file and renames it into place, so a
// reader never trains on half a file.
func writeEventsFile(path string, evs []recommender.SyntheticEvent) (err error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = writeEvents(tmp, evs); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	return nil
}

func writeEvents(w io.Writer, evs []recommender.SyntheticEvent) error {
	bw := bufio.NewWriter(w)
	for _, e := range evs {
		ev := events.Event{
			Time: e.Time, User: e.User, Kind: events.Kind(e.Kind),
			Movie: e.Movie, Minute: e.Minute, Rating: e.Rating,
		}
		if _, err := bw.WriteString(ev.Line() + "\n"); err != nil {
			return fmt.Errorf("gen: write: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gen: write: %w", err)
	}
	return nil
}
