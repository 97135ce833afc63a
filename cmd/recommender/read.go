package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
)

// maxLogLine bounds one course log line; recommendation lines with 20 long
// slugs stay far below it.
const maxLogLine = 1 << 20

// errNoInteractions means the data held nothing to train on.
var errNoInteractions = errors.New("no interactions")

func readInteractions(path, format string, stderr io.Writer) ([]recommender.Interaction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	var (
		in    []recommender.Interaction
		bad   recommender.BadLines
		total int
		start = time.Now()
		bar   = newProgress(stderr)
		size  int64
	)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	bar.begin("reading "+filepath.Base(path), "bytes", size)
	if format == "movielens" {
		in, bad, err = recommender.ReadMovieLensReport(&countingReader{r: f, read: bar.set})
		total = -1
	} else {
		var log movielog
		log, err = readMovielogProgress(f, bar.set)
		in, bad, total = log.Interactions, log.Bad, log.Total
		if err == nil {
			bar.logf(stderr, "recommender: %s: %s\n", path, log.summary())
		}
	}
	bar.end()
	if err == nil {
		fmt.Fprintf(stderr, "recommender: read %s (%s) in %s\n", path, formatBytes(size), time.Since(start).Round(10*time.Millisecond))
	}
	reportBadLines(stderr, path, bad, total)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("train: %s: %w", path, errNoInteractions)
	}
	return in, nil
}

// countingReader tells read the bytes read so far.
type countingReader struct {
	r    io.Reader
	n    int64
	read func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	c.read(c.n)
	return k, err
}

// reportBadLines writes a reader's report of skipped lines to stderr; total
// is the number of lines read, or negative when unknown.
func reportBadLines(stderr io.Writer, path string, bad recommender.BadLines, total int) {
	if bad.Count == 0 {
		return
	}
	of := ""
	if total >= 0 {
		of = fmt.Sprintf(" of %d", total)
	}
	fmt.Fprintf(stderr, "recommender: %s: skipped %d bad lines%s (first: %v)\n", path, bad.Count, of, bad.Err())
	for _, e := range bad.First[1:] {
		fmt.Fprintf(stderr, "recommender: %s: also skipped %v\n", path, &e)
	}
	if more := bad.Count - len(bad.First); more > 0 {
		fmt.Fprintf(stderr, "recommender: %s: and %d more bad lines\n", path, more)
	}
}

// movielog is what a course log says about preferences.
type movielog struct {
	// Interactions has one entry per (user, movie) pair with a watch or a
	// rating, in order of first appearance, weighted by pairWeight; Time is
	// the pair's latest event.
	Interactions []recommender.Interaction
	Accounts     map[string]struct{} // users with a create_account line
	Lines        map[events.Kind]int // valid lines by kind
	Bad          recommender.BadLines
	Total        int // lines read, bad and blank ones included
}

func (m movielog) summary() string {
	return fmt.Sprintf("%d watch, %d rate, %d create_account and %d recommendation lines; %d accounts, %d user-movie pairs",
		m.Lines[events.KindWatch], m.Lines[events.KindRate], m.Lines[events.KindCreateAccount],
		m.Lines[events.KindRecommendation], len(m.Accounts), len(m.Interactions))
}

// How watching and rating combine into one implicit-feedback weight w >= 0
// per (user, movie); ALS turns it into confidence 1 + alpha·w.
//
//   - Watching: the course logs one line per minute streamed, and players
//     retry, so the evidence is the number m of distinct minutes, not lines.
//     It counts as ln(1 + m), Hu, Koren and Volinsky's log scaling (ε = 1):
//     the 2nd minute says more than the 100th, and a full 120-minute film
//     (4.8) does not drown a user's other films under alpha.
//   - Rating r (the latest one, 1..5) is explicit and outranks watching:
//     r >= 3 adds ratingScale·(r − 2.5), so 3 adds 1, 4 adds 3 and 5 adds 5
//     (about a full viewing); r <= 2 says "I did not like it" and sets w = 0,
//     however long they watched: a dislike is no positive preference.
//
// A pair with w = 0 is kept so that models know the user has seen the movie
// (never recommended back); it carries no confidence beyond an unobserved
// pair's.
const (
	ratingScale      = 2.0
	ratingNeutral    = 2.5
	dislikeAtOrBelow = 2
)

func pairWeight(distinctMinutes int, rating int) float64 {
	if rating > 0 && rating <= dislikeAtOrBelow {
		return 0
	}
	w := math.Log1p(float64(distinctMinutes))
	if rating > 0 {
		w += ratingScale * (float64(rating) - ratingNeutral)
	}
	return w
}

// readMovielog reads course log lines. Bad lines are skipped and reported
// with events.ParseLine's reason; it fails only on an I/O error or when no
// line was valid.
func readMovielog(r io.Reader) (movielog, error) { return readMovielogProgress(r, nil) }

// readMovielogProgress is readMovielog telling read, when not nil, the bytes
// consumed so far.
func readMovielogProgress(r io.Reader, read func(int64)) (movielog, error) {
	log := movielog{Accounts: map[string]struct{}{}, Lines: map[events.Kind]int{}}
	pairs := newPairTable()
	var (
		kinds   [4]int // by kindOrder
		tooLong recommender.BadLines
		err     error
	)
	log.Total, err = parseLines(r, maxLogLine, &tooLong, read, func(p *parsedLine) {
		if p.err == nil {
			p.err = log.add(pairs, &p.ev)
		}
		if p.err != nil {
			log.Bad.Add(p.n, p.err)
			return
		}
		kinds[slices.Index(kindOrder, p.ev.Kind)]++
	})
	log.Bad = mergeBadLines(tooLong, log.Bad)
	for i, k := range kindOrder {
		if kinds[i] > 0 {
			log.Lines[k] = kinds[i]
		}
	}
	if err != nil {
		return log, err
	}
	if len(log.Lines) == 0 && log.Bad.Count > 0 {
		return log, fmt.Errorf("no valid lines: %w", log.Bad.Err())
	}
	log.Interactions = pairs.interactions()
	return log, nil
}

// kindOrder lists the line kinds ParseLine returns.
var kindOrder = []events.Kind{events.KindWatch, events.KindRate, events.KindCreateAccount, events.KindRecommendation}

// add records one valid line's event.
func (m *movielog) add(pairs *pairTable, ev *events.Event) error {
	switch ev.Kind {
	case events.KindCreateAccount:
		u, err := pairs.users.intern(ev.User)
		if err != nil {
			return err
		}
		m.Accounts[pairs.users.names[u]] = struct{}{}
	case events.KindWatch, events.KindRate:
		return pairs.add(ev)
	}
	return nil
}
