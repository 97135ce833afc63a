package recommender

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// UserInfo is what MovieLens knows about a user (the zip code is ignored).
// Age is in years for u.user and the ML-1M age-group code (1, 18, 25, 35, 45,
// 50, 56: the group's lowest age) for users.dat.
type UserInfo struct {
	ID         string
	Age        int
	Gender     string // "M" or "F"
	Occupation string // lowercase name, e.g. "technician", "k-12 student"
}

// ItemInfo is a movie's title and genres.
type ItemInfo struct {
	ID     string
	Title  string
	Genres []string
}

// Catalog is the metadata of a data set, by id.
type Catalog struct {
	Users map[string]UserInfo
	Items map[string]ItemInfo
}

// Genres100K are the genre names of ML-100k's u.item flags, in column order.
var Genres100K = []string{
	"unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
	"Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
	"Romance", "Sci-Fi", "Thriller", "War", "Western",
}

// Occupations1M names ML-1M's users.dat occupation codes 0..20.
var Occupations1M = []string{
	"other", "academic/educator", "artist", "clerical/admin", "college/grad student",
	"customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
	"k-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
	"self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
}

const (
	maxAge      = 150
	uItemFields = 5 + 19 // id, title, release date, video release date, URL, genre flags
)

// ReadUsers reads MovieLens user metadata: ML-100k u.user
// ("id|age|gender|occupation|zip") or ML-1M users.dat
// ("id::gender::age::occupation-code::zip"), told apart by content. Text is
// decoded from Latin-1 unless a line is valid UTF-8. Bad lines (and repeated
// ids) are skipped and reported; it fails only on an I/O error or when no line
// was valid.
func ReadUsers(r io.Reader) (map[string]UserInfo, BadLines, error) {
	users := make(map[string]UserInfo)
	bad, err := readMetadata(r, func(line, sep string) error {
		u, err := parseUser(line, sep)
		if err != nil {
			return err
		}
		if _, dup := users[u.ID]; dup {
			return fmt.Errorf("%w: user id %s repeated", ErrBadLine, u.ID)
		}
		users[u.ID] = u
		return nil
	})
	if err != nil {
		return nil, bad, err
	}
	return users, bad, nil
}

// ReadItems reads MovieLens movie metadata: ML-100k u.item (id, title, dates,
// URL and 19 genre flags, '|'-separated; see Genres100K) or ML-1M movies.dat
// ("id::title::Genre|Genre"), told apart by content, decoded as ReadUsers
// does. Bad lines and repeated ids are skipped and reported.
func ReadItems(r io.Reader) (map[string]ItemInfo, BadLines, error) {
	items := make(map[string]ItemInfo)
	bad, err := readMetadata(r, func(line, sep string) error {
		it, err := parseItem(line, sep)
		if err != nil {
			return err
		}
		if _, dup := items[it.ID]; dup {
			return fmt.Errorf("%w: item id %s repeated", ErrBadLine, it.ID)
		}
		items[it.ID] = it
		return nil
	})
	if err != nil {
		return nil, bad, err
	}
	return items, bad, nil
}

// readMetadata runs parse on each non-blank decoded line with the separator
// detected on the first one ("::" or "|").
func readMetadata(r io.Reader, parse func(line, sep string) error) (BadLines, error) {
	var (
		bad   BadLines
		sep   string
		valid int
	)
	_, err := ScanLines(r, maxLineBytes, &bad, func(n int, raw string) {
		line := strings.TrimSpace(decodeText(raw))
		if line == "" {
			return
		}
		if sep == "" {
			switch {
			case strings.Contains(line, "::"):
				sep = "::"
			case strings.Contains(line, "|"):
				sep = "|"
			default:
				bad.Add(n, fmt.Errorf("%w: not a MovieLens metadata layout ('|' or '::' separated)", ErrBadLine))
				return
			}
		}
		if err := parse(line, sep); err != nil {
			bad.Add(n, err)
			return
		}
		valid++
	})
	if err != nil {
		return bad, err
	}
	if valid == 0 && bad.Count > 0 {
		return bad, noValid(bad)
	}
	return bad, nil
}

// decodeText returns s unchanged when it is valid UTF-8 and otherwise decodes
// it as Latin-1 (ISO 8859-1), the encoding of the MovieLens 100k and 1M files:
// every byte is the code point of the same value. A Latin-1 line with accents
// is almost never valid UTF-8, so the check tells the two apart per line.
func decodeText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

func parseUser(line, sep string) (UserInfo, error) {
	f := strings.Split(line, sep)
	if len(f) != 5 {
		return UserInfo{}, fmt.Errorf("%w: want 5 fields separated by %q, got %d", ErrBadLine, sep, len(f))
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	var u UserInfo
	var age, occupation string
	if sep == "|" { // u.user: id|age|gender|occupation|zip
		u.ID, age, u.Gender, occupation = f[0], f[1], f[2], strings.ToLower(f[3])
	} else { // users.dat: id::gender::age::occupation::zip
		u.ID, u.Gender, age = f[0], f[1], f[2]
		code, err := strconv.Atoi(f[3])
		if err != nil || code < 0 || code >= len(Occupations1M) {
			return UserInfo{}, fmt.Errorf("%w: occupation code %q is not 0..%d", ErrBadLine, clip(f[3]), len(Occupations1M)-1)
		}
		occupation = Occupations1M[code]
	}
	if !isDecimalID(u.ID) {
		return UserInfo{}, fmt.Errorf("%w: user id %q is not a decimal integer", ErrBadLine, clip(u.ID))
	}
	a, err := strconv.Atoi(age)
	if err != nil || a < 0 || a > maxAge {
		return UserInfo{}, fmt.Errorf("%w: age %q is not 0..%d", ErrBadLine, clip(age), maxAge)
	}
	u.Age = a
	if u.Gender = strings.ToUpper(u.Gender); u.Gender != "M" && u.Gender != "F" {
		return UserInfo{}, fmt.Errorf("%w: gender %q is not M or F", ErrBadLine, clip(u.Gender))
	}
	if occupation == "" {
		return UserInfo{}, fmt.Errorf("%w: empty occupation", ErrBadLine)
	}
	u.Occupation = occupation
	return u, nil
}

func parseItem(line, sep string) (ItemInfo, error) {
	f := strings.Split(line, sep)
	want := 3
	if sep == "|" {
		want = uItemFields
	}
	if len(f) != want {
		return ItemInfo{}, fmt.Errorf("%w: want %d fields separated by %q, got %d", ErrBadLine, want, sep, len(f))
	}
	it := ItemInfo{ID: strings.TrimSpace(f[0]), Title: strings.TrimSpace(f[1])}
	if !isDecimalID(it.ID) {
		return ItemInfo{}, fmt.Errorf("%w: item id %q is not a decimal integer", ErrBadLine, clip(it.ID))
	}
	if it.Title == "" {
		return ItemInfo{}, fmt.Errorf("%w: empty title", ErrBadLine)
	}
	var err error
	if sep == "|" {
		it.Genres, err = genreFlags(f[5:])
	} else {
		it.Genres, err = genreList(f[2])
	}
	if err != nil {
		return ItemInfo{}, err
	}
	return it, nil
}

// genreFlags reads u.item's 19 "0"/"1" columns.
func genreFlags(flags []string) ([]string, error) {
	var genres []string
	for i, v := range flags {
		switch strings.TrimSpace(v) {
		case "1":
			genres = append(genres, Genres100K[i])
		case "0":
		default:
			return nil, fmt.Errorf("%w: genre flag %d (%s) is %q, not 0 or 1", ErrBadLine, i+1, Genres100K[i], clip(v))
		}
	}
	return genres, nil
}

// genreList reads movies.dat's "Genre|Genre" column.
func genreList(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "(no genres listed)" {
		return nil, nil
	}
	genres := strings.Split(s, "|")
	for i, g := range genres {
		if genres[i] = strings.TrimSpace(g); genres[i] == "" {
			return nil, fmt.Errorf("%w: empty genre in %q", ErrBadLine, clip(s))
		}
	}
	return genres, nil
}
