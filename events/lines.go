// Package events holds Reelguard's Kafka event plumbing: the course log line
// format, the signed record envelope (Signer, Keyset, Verifier) and a signing
// producer. It imports nothing else of this project.
package events

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind names the four course log line shapes.
type Kind string

// The course log line kinds.
const (
	KindWatch          Kind = "watch"
	KindRate           Kind = "rate"
	KindCreateAccount  Kind = "create_account"
	KindRecommendation Kind = "recommendation"
)

// Bounds on untrusted lines; generous for real data, small enough to keep a
// hostile line cheap.
const (
	maxLineLen    = 64 << 10
	maxUserLen    = 19 // fits an int64
	maxMovieLen   = 256
	maxServerLen  = 256
	maxResults    = 100
	maxMinuteLen  = 9
	maxLatencyLen = 9
)

// ErrInvalidLine is wrapped by every ParseLine and Event.Validate error.
var ErrInvalidLine = errors.New("invalid event line")

// FieldError says which field of a line or event is wrong.
type FieldError struct {
	Field string // "time", "user", "movie", "minute", "rating", "server", "status", "result", "latency", "request"
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("invalid event line: %s: %s", e.Field, e.Msg) }

// Unwrap lets errors.Is(err, ErrInvalidLine) hold.
func (e *FieldError) Unwrap() error { return ErrInvalidLine }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Event is one course log line. Which fields matter depends on Kind: Movie
// and Minute for watch, Movie and Rating for rate, Server, Status, Result
// and Latency for recommendation.
type Event struct {
	Time    time.Time
	User    string
	Kind    Kind
	Movie   string
	Minute  int
	Rating  int
	Server  string
	Status  int
	Result  []string
	Latency time.Duration
}

const (
	watchPrefix = "GET /data/m/"
	ratePrefix  = "GET /rate/"
	createLine  = "GET /create_account"
	recPrefix   = "recommendation request "
)

// ParseLine parses one course log line (a trailing "\n" or "\r\n" is
// ignored). Times are UTC.
func ParseLine(line string) (Event, error) {
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if len(line) > maxLineLen {
		return Event{}, fieldErr("request", "line longer than %d bytes", maxLineLen)
	}
	ts, rest, ok := strings.Cut(line, ",")
	if !ok {
		return Event{}, fieldErr("time", "missing comma after time")
	}
	t, err := parseTime(ts)
	if err != nil {
		return Event{}, err
	}
	user, req, ok := strings.Cut(rest, ",")
	if !ok {
		return Event{}, fieldErr("user", "missing comma after user id")
	}
	if err := checkUser(user); err != nil {
		return Event{}, err
	}
	e := Event{Time: t, User: user}
	if err := parseRequest(&e, req); err != nil {
		return Event{}, err
	}
	return e, nil
}

func parseRequest(e *Event, req string) error {
	switch {
	case req == createLine:
		e.Kind = KindCreateAccount
		return nil
	case strings.HasPrefix(req, watchPrefix):
		e.Kind = KindWatch
		return parseWatch(e, strings.TrimPrefix(req, watchPrefix))
	case strings.HasPrefix(req, ratePrefix):
		e.Kind = KindRate
		return parseRate(e, strings.TrimPrefix(req, ratePrefix))
	case strings.HasPrefix(req, recPrefix):
		e.Kind = KindRecommendation
		return parseRecommendation(e, strings.TrimPrefix(req, recPrefix))
	}
	return fieldErr("request", "not a watch, rate, create_account or recommendation request")
}

// parseWatch parses "<movie>/<minute>.mpg".
func parseWatch(e *Event, s string) error {
	movie, file, ok := strings.Cut(s, "/")
	if !ok {
		return fieldErr("minute", "missing /<minute>.mpg")
	}
	if err := checkMovie("movie", movie); err != nil {
		return err
	}
	minute, ok := strings.CutSuffix(file, ".mpg")
	if !ok {
		return fieldErr("minute", "missing .mpg suffix")
	}
	m, err := parseDecimal("minute", minute, maxMinuteLen)
	if err != nil {
		return err
	}
	e.Movie, e.Minute = movie, m
	return nil
}

// parseRate parses "<movie>=<rating>".
func parseRate(e *Event, s string) error {
	movie, rating, ok := strings.Cut(s, "=")
	if !ok {
		return fieldErr("rating", "missing =<rating>")
	}
	if err := checkMovie("movie", movie); err != nil {
		return err
	}
	if len(rating) != 1 || rating[0] < '1' || rating[0] > '5' {
		return fieldErr("rating", "%s is not 1..5", quote(rating))
	}
	e.Movie, e.Rating = movie, int(rating[0]-'0')
	return nil
}

// parseRecommendation parses "<server>, status <code>, result: <ids>, <N> ms".
func parseRecommendation(e *Event, s string) error {
	server, rest, ok := strings.Cut(s, ", status ")
	if !ok {
		return fieldErr("status", "missing \", status \"")
	}
	if err := checkServer(server); err != nil {
		return err
	}
	code, rest, ok := strings.Cut(rest, ", result:")
	if !ok {
		return fieldErr("result", "missing \", result:\"")
	}
	if len(code) != 3 {
		return fieldErr("status", "%s is not a 3-digit status code", quote(code))
	}
	status, err := parseDecimal("status", code, 3)
	if err != nil || status < 100 || status > 599 {
		return fieldErr("status", "%s is not 100..599", quote(code))
	}
	cut := strings.LastIndexByte(rest, ',')
	if cut < 0 {
		return fieldErr("latency", "missing \", <N> ms\"")
	}
	ms, ok := strings.CutSuffix(strings.TrimLeft(rest[cut+1:], " "), " ms")
	if !ok {
		return fieldErr("latency", "missing \" ms\" suffix")
	}
	n, err := parseDecimal("latency", ms, maxLatencyLen)
	if err != nil {
		return err
	}
	ids, err := parseResult(rest[:cut])
	if err != nil {
		return err
	}
	e.Server, e.Status, e.Result, e.Latency = server, status, ids, time.Duration(n)*time.Millisecond
	return nil
}

// parseResult splits "a, b, c" (or "a,b,c"); an empty list is allowed.
func parseResult(s string) ([]string, error) {
	s = strings.Trim(s, " ")
	if s == "" {
		return nil, nil
	}
	if strings.Count(s, ",") >= maxResults {
		return nil, fieldErr("result", "more than %d ids", maxResults)
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		p = strings.Trim(p, " ")
		if err := checkMovie("result", p); err != nil {
			return nil, err
		}
		parts[i] = p
	}
	return parts, nil
}

// Line formats e in the course format, the inverse of ParseLine for valid
// events; it does not validate (see Validate).
func (e Event) Line() string {
	head := FormatTime(e.Time) + "," + e.User + ","
	switch e.Kind {
	case KindWatch:
		return head + watchPrefix + e.Movie + "/" + strconv.Itoa(e.Minute) + ".mpg"
	case KindRate:
		return head + ratePrefix + e.Movie + "=" + strconv.Itoa(e.Rating)
	case KindCreateAccount:
		return head + createLine
	case KindRecommendation:
		return head + recPrefix + e.Server + ", status " + strconv.Itoa(e.Status) +
			", result: " + strings.Join(e.Result, ", ") + ", " +
			strconv.FormatInt(e.Latency.Milliseconds(), 10) + " ms"
	}
	return head + "unknown " + string(e.Kind)
}

// Validate reports whether e would survive Line and ParseLine unchanged,
// naming the first bad field.
func (e Event) Validate() error {
	if e.Kind == KindRecommendation && e.Latency%time.Millisecond != 0 {
		return fieldErr("latency", "not a whole number of milliseconds")
	}
	_, err := ParseLine(e.Line())
	return err
}

func checkUser(s string) error {
	switch {
	case s == "":
		return fieldErr("user", "empty user id")
	case len(s) > maxUserLen:
		return fieldErr("user", "user id longer than %d digits", maxUserLen)
	case !allDigits(s):
		return fieldErr("user", "%s is not a non-negative decimal integer", quote(s))
	case len(s) > 1 && s[0] == '0':
		return fieldErr("user", "%s has a leading zero", quote(s))
	}
	return nil
}

// checkMovie accepts slugs of lowercase letters, digits and '+'.
func checkMovie(field, s string) error {
	if s == "" {
		return fieldErr(field, "empty movie id")
	}
	if len(s) > maxMovieLen {
		return fieldErr(field, "movie id longer than %d bytes", maxMovieLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '+' {
			return fieldErr(field, "movie id %s has a byte outside [a-z0-9+]", quote(s))
		}
	}
	return nil
}

// checkServer accepts a host[:port] without spaces or commas.
func checkServer(s string) error {
	if s == "" || len(s) > maxServerLen {
		return fieldErr("server", "server must be 1..%d bytes", maxServerLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte(".-_:[]", c) >= 0
		if !ok {
			return fieldErr("server", "%s is not a host[:port]", quote(s))
		}
	}
	return nil
}

// parseDecimal parses a non-negative decimal without sign or leading zeros.
func parseDecimal(field, s string, maxLen int) (int, error) {
	if s == "" || len(s) > maxLen || !allDigits(s) || len(s) > 1 && s[0] == '0' {
		return 0, fieldErr(field, "%s is not a decimal of at most %d digits without leading zeros", quote(s), maxLen)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fieldErr(field, "%s: %v", quote(s), err)
	}
	return n, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// quote shortens untrusted text before it lands in an error message.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)
}

const (
	timeLayout = "2006-01-02T15:04:05"
	micros     = ".000000"
	nanos      = ".000000000"
)

// FormatTime prints t in UTC as YYYY-MM-DDTHH:MM:SS with no fraction, 6
// fractional digits when t has whole microseconds, or 9 otherwise: the
// shortest of the course's three forms that loses nothing.
func FormatTime(t time.Time) string {
	t = t.UTC()
	switch ns := t.Nanosecond(); {
	case ns == 0:
		return t.Format(timeLayout)
	case ns%1000 == 0:
		return t.Format(timeLayout + micros)
	default:
		return t.Format(timeLayout + nanos)
	}
}

// parseTime accepts exactly YYYY-MM-DDTHH:MM:SS with 0, 6 or 9 fractional
// digits. The shape is checked by hand because time.Parse also takes
// one-digit hours and any number of fractional digits.
func parseTime(s string) (time.Time, error) {
	const base = len(timeLayout)
	var layout string
	switch len(s) {
	case base:
		layout = timeLayout
	case base + len(micros):
		layout = timeLayout + micros
	case base + len(nanos):
		layout = timeLayout + nanos
	default:
		return time.Time{}, fieldErr("time", "%s is not YYYY-MM-DDTHH:MM:SS with 0, 6 or 9 fractional digits", quote(s))
	}
	for i := 0; i < len(s); i++ {
		want := layout[i]
		isDigit := s[i] >= '0' && s[i] <= '9'
		if want >= '0' && want <= '9' {
			if !isDigit {
				return time.Time{}, fieldErr("time", "%s: digit expected at byte %d", quote(s), i+1)
			}
		} else if s[i] != want {
			return time.Time{}, fieldErr("time", "%s: %q expected at byte %d", quote(s), want, i+1)
		}
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, fieldErr("time", "%s: out of range", quote(s))
	}
	return t, nil
}
