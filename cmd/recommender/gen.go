package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
)

// genSizes are gen's --size presets; --users, --movies and --events override them.
var genSizes = map[string]recommender.GenConfig{
	"small":  {Users: 1000, Movies: 1682, Events: 100_000},
	"course": {Users: 1_000_000, Movies: 27_000, Events: 20_000_000},
}

func runGen(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gen", stderr)
	out := fs.String("out", "", "movielog: file to write (- for stdout); movielens: folder for u.data, u.user, u.item (required)")
	format := fs.String("format", "movielog", "movielog (course log lines) or movielens (ML-100k layout folder)")
	size := fs.String("size", "small", "preset: small (1k users, 1682 movies, 100k events) or course (1M users, 27k movies, 20M events)")
	var cfg recommender.GenConfig
	fs.IntVar(&cfg.Users, "users", 0, "number of users (default: the preset's)")
	fs.IntVar(&cfg.Movies, "movies", 0, "number of movies (default: the preset's)")
	fs.IntVar(&cfg.Events, "events", 0, "watch and rate lines (movielog) or ratings (movielens) (default: the preset's)")
	fs.IntVar(&cfg.Groups, "groups", recommender.DefaultGenGroups, "planted latent taste groups")
	fs.Int64Var(&cfg.Seed, "seed", 1, "random seed; the same seed writes the same data")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := genConfig(fs, cfg, *size, *format, *out)
	if err != nil {
		return err
	}
	s := recommender.NewSynth(cfg)
	if *format == "movielens" {
		if err := writeMovieLensDir(*out, s); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %d users, %d movies, %d ratings (fewer if a user would rate more than every movie) to %s\n", cfg.Users, cfg.Movies, cfg.Events, *out)
		return nil
	}
	if *out == "-" {
		return writeEvents(stdout, s)
	}
	if err := writeFileAtomic(*out, func(w io.Writer) error { return writeEvents(w, s) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d users' accounts and %d events to %s\n", cfg.Users, cfg.Events, *out)
	return nil
}

// genConfig checks gen's flags and fills unset counts from the --size preset.
func genConfig(fs *flag.FlagSet, cfg recommender.GenConfig, size, format, out string) (recommender.GenConfig, error) {
	if err := required(fs, "out", out); err != nil {
		return cfg, err
	}
	if format != "movielog" && format != "movielens" {
		return cfg, fmt.Errorf("%w: gen: --format must be movielog or movielens, not %q", errUsage, format)
	}
	if format == "movielens" && out == "-" {
		return cfg, fmt.Errorf("%w: gen: --format movielens writes a folder; --out - is for movielog", errUsage)
	}
	preset, ok := genSizes[size]
	if !ok {
		return cfg, fmt.Errorf("%w: gen: --size must be small or course, not %q", errUsage, size)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, p := range map[string]*int{"users": &cfg.Users, "movies": &cfg.Movies, "events": &cfg.Events} {
		if !set[name] {
			*p = map[string]int{"users": preset.Users, "movies": preset.Movies, "events": preset.Events}[name]
		}
	}
	if cfg.Users <= 0 || cfg.Movies <= 0 || cfg.Events <= 0 || cfg.Groups <= 0 {
		return cfg, fmt.Errorf("%w: gen: --users, --movies, --events and --groups must be positive", errUsage)
	}
	return cfg, nil
}

// writeEvents streams every user's course log lines, user by user.
func writeEvents(w io.Writer, s *recommender.Synth) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var buf []recommender.SyntheticEvent
	for u := range s.Config().Users {
		buf = s.AppendEvents(buf[:0], u)
		for _, e := range buf {
			ev := events.Event{
				Time: e.Time, User: e.User, Kind: events.Kind(e.Kind),
				Movie: e.Movie, Minute: e.Minute, Rating: e.Rating,
			}
			if _, err := bw.WriteString(ev.Line() + "\n"); err != nil {
				return fmt.Errorf("gen: write: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gen: write: %w", err)
	}
	return nil
}

// writeMovieLensDir writes dir/u.data, u.user and u.item in the
// MovieLens-100k layout.
func writeMovieLensDir(dir string, s *recommender.Synth) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	files := []struct {
		name  string
		write func(*bufio.Writer, *recommender.Synth) error
	}{{"u.data", genUData}, {"u.user", genUUser}, {"u.item", genUItem}}
	for _, f := range files {
		err := writeFileAtomic(filepath.Join(dir, f.name), func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			if err := f.write(bw, s); err != nil {
				return fmt.Errorf("gen: write %s: %w", f.name, err)
			}
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("gen: write %s: %w", f.name, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// genUData writes "user<TAB>item<TAB>rating<TAB>unix seconds" lines.
func genUData(w *bufio.Writer, s *recommender.Synth) error {
	var buf []recommender.Interaction
	line := make([]byte, 0, 64)
	for u := range s.Config().Users {
		buf = s.AppendRatings(buf[:0], u)
		for _, x := range buf {
			line = append(append(line[:0], x.User...), '\t')
			line = append(append(line, x.Item...), '\t')
			line = append(strconv.AppendInt(line, int64(x.Weight), 10), '\t')
			line = append(strconv.AppendInt(line, x.Time.Unix(), 10), '\n')
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
	}
	return nil
}

// genUUser writes "id|age|gender|occupation|zip" lines.
func genUUser(w *bufio.Writer, s *recommender.Synth) error {
	for u := range s.Config().Users {
		x := s.User(u)
		zip := (u*7919 + 10007) % 100000
		if _, err := fmt.Fprintf(w, "%s|%d|%s|%s|%05d\n", x.ID, x.Age, x.Gender, x.Occupation, zip); err != nil {
			return err
		}
	}
	return nil
}

// genUItem writes "id|title|release date|video release date|URL|19 genre flags".
func genUItem(w *bufio.Writer, s *recommender.Synth) error {
	flags := make([]string, len(recommender.Genres100K))
	for i := range s.Config().Movies {
		it := s.Item(i)
		for g, name := range recommender.Genres100K {
			flags[g] = "0"
			if containsGenre(it.Genres, name) {
				flags[g] = "1"
			}
		}
		year := it.Title[len(it.Title)-5 : len(it.Title)-1]
		_, err := fmt.Fprintf(w, "%d|%s|01-Jan-%s||http://example.invalid/%s|%s\n",
			i+1, it.Title, year, it.ID, strings.Join(flags, "|"))
		if err != nil {
			return err
		}
	}
	return nil
}

func containsGenre(genres []string, g string) bool {
	for _, x := range genres {
		if x == g {
			return true
		}
	}
	return false
}

// writeFileAtomic writes to a temporary file and renames it into place, so a
// reader never trains on half a file.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
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
	if err = write(tmp); err != nil {
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
