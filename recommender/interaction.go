package recommender

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Interaction is one user's contact with one item: a rating (Weight = the
// rating) or an implicit signal such as a watch (Weight = 1).
type Interaction struct {
	User   string
	Item   string
	Weight float64
	Time   time.Time
}

// ErrBadLine marks input that is not valid MovieLens data; the returned error is
// a *LineError naming the line.
var ErrBadLine = errors.New("bad line")

// LineError names a bad line (counting from 1) and why it is bad.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// maxLineBytes bounds one input line; MovieLens lines are a few dozen bytes.
const maxLineBytes = 64 << 10

// movieLensLayout is one of the three MovieLens rating file layouts.
type movieLensLayout struct {
	sep    string
	header bool // a "userId,movieId,rating,timestamp" header may come first
}

var (
	layoutUData   = movieLensLayout{sep: "\t"}              // ml-100k u.data
	layoutDat     = movieLensLayout{sep: "::"}              // ml-1m / ml-10m ratings.dat
	layoutCSV     = movieLensLayout{sep: ",", header: true} // ml-latest / ml-25m ratings.csv
	csvHeaderCols = []string{"userid", "movieid", "rating", "timestamp"}
)

// detectLayout tells the layouts apart by the first non-blank line's content,
// never by a file name.
func detectLayout(line string) (movieLensLayout, error) {
	switch {
	case strings.Contains(line, "::"):
		return layoutDat, nil
	case strings.Contains(line, "\t"):
		return layoutUData, nil
	case strings.Contains(line, ","):
		return layoutCSV, nil
	}
	return movieLensLayout{}, fmt.Errorf("%w: not a MovieLens ratings layout (tab, '::' or comma separated)", ErrBadLine)
}

// ReadMovieLens reads a MovieLens ratings file in the u.data, ratings.dat or
// ratings.csv layout, told apart by content. It returns every valid line's
// interaction and, when any line was bad, the first bad line as a *LineError
// wrapping ErrBadLine: a caller that treats any error as fatal never trains on
// part of a file unknowingly. ReadMovieLensReport tolerates bad lines.
func ReadMovieLens(r io.Reader) ([]Interaction, error) {
	in, bad, err := ReadMovieLensReport(r)
	if err == nil {
		err = bad.Err()
	}
	return in, err
}

// ReadMovieLensReport reads like ReadMovieLens but skips bad lines, counting
// and reporting them. Blank lines are skipped; the layout is detected on the
// first line that has one. It fails only on an I/O error or when lines were
// present and none was valid (an error wrapping the first *LineError).
func ReadMovieLensReport(r io.Reader) ([]Interaction, BadLines, error) {
	var (
		out    []Interaction
		bad    BadLines
		layout movieLensLayout
		seen   bool // layout detected
		ids    = interner{}
	)
	_, err := ScanLines(r, maxLineBytes, &bad, func(n int, raw string) {
		line := strings.TrimSpace(raw)
		if line == "" {
			return
		}
		if !seen {
			l, err := detectLayout(line)
			if err != nil {
				bad.Add(n, err)
				return
			}
			layout, seen = l, true
			if layout.header && isCSVHeader(line) {
				return
			}
		}
		in, err := parseMovieLensLine(line, layout.sep)
		if err != nil {
			bad.Add(n, err)
			return
		}
		in.User, in.Item = ids.intern(in.User), ids.intern(in.Item)
		out = append(out, in)
	})
	if err != nil {
		return out, bad, err
	}
	if len(out) == 0 && bad.Count > 0 {
		return nil, bad, noValid(bad)
	}
	return out, bad, nil
}

// interner stores each distinct id once: without it every interaction's ids
// would pin their whole line, about a gigabyte at MovieLens-20M's size.
type interner map[string]string

func (m interner) intern(s string) string {
	if t, ok := m[s]; ok {
		return t
	}
	s = strings.Clone(s)
	m[s] = s
	return s
}

func isCSVHeader(line string) bool {
	cols := strings.Split(strings.ToLower(line), ",")
	if len(cols) != len(csvHeaderCols) {
		return false
	}
	for i, c := range cols {
		if strings.TrimSpace(c) != csvHeaderCols[i] {
			return false
		}
	}
	return true
}

// parseMovieLensLine parses "user SEP item SEP rating SEP unix-seconds".
func parseMovieLensLine(line, sep string) (Interaction, error) {
	f := strings.Split(line, sep)
	if len(f) != 4 {
		return Interaction{}, fmt.Errorf("%w: want 4 fields separated by %q, got %d", ErrBadLine, sep, len(f))
	}
	user, item := strings.TrimSpace(f[0]), strings.TrimSpace(f[1])
	if !isDecimalID(user) {
		return Interaction{}, fmt.Errorf("%w: user id %q is not a decimal integer", ErrBadLine, clip(user))
	}
	if !isDecimalID(item) {
		return Interaction{}, fmt.Errorf("%w: item id %q is not a decimal integer", ErrBadLine, clip(item))
	}
	rating, err := strconv.ParseFloat(strings.TrimSpace(f[2]), 64)
	if err != nil || math.IsNaN(rating) || rating < 0 || rating > maxRating {
		return Interaction{}, fmt.Errorf("%w: rating %q is not a number from 0 to %d", ErrBadLine, clip(f[2]), maxRating)
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(f[3]), 10, 64)
	if err != nil || ts < 0 || ts > maxUnixSeconds {
		return Interaction{}, fmt.Errorf("%w: timestamp %q is not unix seconds", ErrBadLine, clip(f[3]))
	}
	return Interaction{User: user, Item: item, Weight: rating, Time: time.Unix(ts, 0).UTC()}, nil
}

const (
	maxRating      = 10           // MovieLens uses 0.5..5; leave room, refuse nonsense
	maxUnixSeconds = 253402300799 // 9999-12-31T23:59:59Z
	maxIDDigits    = 19           // fits an int64
)

// isDecimalID reports whether s is a non-empty run of ASCII digits that fits an int64.
func isDecimalID(s string) bool {
	if s == "" || len(s) > maxIDDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsUserID reports whether s is a valid user id: a decimal integer of at most
// 19 digits, as in the course logs and MovieLens.
func IsUserID(s string) bool { return isDecimalID(s) }

// clip keeps error messages short when a line is garbage.
func clip(s string) string {
	const max = 32
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
