package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Limits on the JSON we accept; ours nests two levels and has a dozen members.
const (
	maxJSONDepth   = 32
	maxJSONMembers = 64 // in one object
)

var (
	errNotObject = errors.New("not a JSON object")
	errJSONEnd   = errors.New("json: unexpected end of input")
)

// member is one member of a JSON object: its name, decoded, and its value as
// raw JSON text. Both usually alias the scanned bytes.
type member struct {
	name  []byte
	value []byte
}

// checkStrictJSON accepts exactly one JSON object, with no duplicate member
// names at any depth (compared case-insensitively, as encoding/json binds
// them) and nothing after it. This closes the parser-differential gap where
// two parsers read different values from {"sub":"a","sub":"b"}:
// encoding/json keeps the last, others the first.
func checkStrictJSON(data []byte) error {
	var buf [16]member
	_, err := strictObject(data, nil, buf[:0])
	return err
}

// strictObject is checkStrictJSON that also requires the object's own
// members named in numbers to be JSON numbers (encoding/json would take
// "exp":"1700000000", a string, for a NumericDate), and returns the object's
// own members appended to buf, which a caller may back with an array on its
// stack. It allocates only for names with escapes or non-ASCII bytes, and
// when buf or a nested object outgrows its array.
func strictObject(data []byte, numbers []string, buf []member) ([]member, error) {
	s := jsonScanner{data: data}
	s.skipSpace()
	if s.pos == len(data) {
		return nil, errJSONEnd
	}
	if data[s.pos] != '{' {
		return nil, errNotObject
	}
	members, err := s.object(1, numbers, buf)
	if err != nil {
		return nil, err
	}
	s.skipSpace()
	if s.pos != len(data) {
		return nil, errors.New("json: data after the object")
	}
	return members, nil
}

// jsonScanner checks JSON syntax as encoding/json does (any byte but '"',
// '\\' and controls inside strings; no UTF-8 validation) without building
// tokens.
type jsonScanner struct {
	data []byte
	pos  int
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// expect consumes c after optional white space.
func (s *jsonScanner) expect(c byte) error {
	s.skipSpace()
	if s.pos == len(s.data) {
		return errJSONEnd
	}
	if s.data[s.pos] != c {
		return s.syntaxError()
	}
	s.pos++
	return nil
}

func (s *jsonScanner) syntaxError() error {
	if s.pos >= len(s.data) {
		return errJSONEnd
	}
	return fmt.Errorf("json: invalid character %q at offset %d", s.data[s.pos], s.pos)
}

// object scans the object at s.pos, nested depth deep, appending its members
// to members.
func (s *jsonScanner) object(depth int, numbers []string, members []member) ([]member, error) {
	if s.open('}') {
		return members, nil
	}
	for {
		m, err := s.member(depth, numbers)
		if err != nil {
			return nil, err
		}
		if err := checkName(members, m.name); err != nil {
			return nil, err
		}
		members = append(members, m)
		if more, err := s.more('}'); !more {
			return members, err
		}
	}
}

// nestedObject is object below the top level: it keeps the members it needs
// for the duplicate check in an array on its own stack.
func (s *jsonScanner) nestedObject(depth int) error {
	var buf [8]member
	seen := buf[:0]
	if s.open('}') {
		return nil
	}
	for {
		m, err := s.member(depth, nil)
		if err != nil {
			return err
		}
		if err := checkName(seen, m.name); err != nil {
			return err
		}
		seen = append(seen, m)
		if more, err := s.more('}'); !more {
			return err
		}
	}
}

// open consumes the opening bracket at s.pos and white space, and reports
// whether the closing one follows, which it then consumes too.
func (s *jsonScanner) open(closing byte) bool {
	s.pos++
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == closing {
		s.pos++
		return true
	}
	return false
}

// more consumes the separator after a value in a container: true after a
// comma, false after closing, an error for anything else.
func (s *jsonScanner) more(closing byte) (bool, error) {
	s.skipSpace()
	if s.pos == len(s.data) {
		return false, errJSONEnd
	}
	switch s.data[s.pos] {
	case ',':
		s.pos++
		s.skipSpace()
		return true, nil
	case closing:
		s.pos++
		return false, nil
	}
	return false, s.syntaxError()
}

// member scans `"name": value`.
func (s *jsonScanner) member(depth int, numbers []string) (member, error) {
	if s.pos == len(s.data) || s.data[s.pos] != '"' {
		return member{}, fmt.Errorf("json: member name is not a string: %w", s.syntaxError())
	}
	start := s.pos
	plain, err := s.str()
	if err != nil {
		return member{}, err
	}
	name, err := literalBytes(s.data[start:s.pos], plain)
	if err != nil {
		return member{}, err
	}
	if err := s.expect(':'); err != nil {
		return member{}, err
	}
	s.skipSpace()
	start = s.pos
	if slices.Contains(numbers, string(name)) && !s.atNumber() {
		return member{}, fmt.Errorf("json: %s is not a number", name)
	}
	if err := s.value(depth); err != nil {
		return member{}, err
	}
	return member{name: name, value: s.data[start:s.pos]}, nil
}

// value scans one value inside a container nested depth deep.
func (s *jsonScanner) value(depth int) error {
	if s.pos == len(s.data) {
		return errJSONEnd
	}
	switch c := s.data[s.pos]; c {
	case '{', '[':
		if depth >= maxJSONDepth {
			return errors.New("json: nested too deeply")
		}
		if c == '[' {
			return s.array(depth + 1)
		}
		return s.nestedObject(depth + 1)
	case '"':
		_, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	if s.atNumber() {
		return s.number()
	}
	return s.syntaxError()
}

func (s *jsonScanner) array(depth int) error {
	if s.open(']') {
		return nil
	}
	for {
		if err := s.value(depth); err != nil {
			return err
		}
		if more, err := s.more(']'); !more {
			return err
		}
	}
}

func (s *jsonScanner) literal(word string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		return fmt.Errorf("json: bad literal at offset %d", s.pos)
	}
	s.pos += len(word)
	return nil
}

func (s *jsonScanner) atNumber() bool {
	if s.pos == len(s.data) {
		return false
	}
	c := s.data[s.pos]
	return c == '-' || '0' <= c && c <= '9'
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *jsonScanner) number() error {
	d, i := s.data, s.pos
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		i = skipDigits(d, i)
	default:
		return fmt.Errorf("json: bad number at offset %d", s.pos)
	}
	if i < len(d) && d[i] == '.' {
		if i = skipDigits(d, i+1); d[i-1] == '.' {
			return fmt.Errorf("json: bad number at offset %d", s.pos)
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := skipDigits(d, i)
		if j == i {
			return fmt.Errorf("json: bad number at offset %d", s.pos)
		}
		i = j
	}
	s.pos = i
	return nil
}

func skipDigits(d []byte, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}

// str scans the string literal at s.pos and reports whether it is plain (no
// escapes, ASCII only), so that its bytes between the quotes are its value.
func (s *jsonScanner) str() (plain bool, err error) {
	d := s.data
	plain = true
	for i := s.pos + 1; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			return plain, nil
		case c == '\\':
			plain = false
			n := escapeLen(d[i+1:])
			if n == 0 {
				return false, fmt.Errorf("json: bad escape at offset %d", i)
			}
			i += n
		case c < 0x20:
			return false, fmt.Errorf("json: control character in string at offset %d", i)
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return false, errJSONEnd
}

// escapeLen is the length of a valid escape after its backslash, or 0.
func escapeLen(d []byte) int {
	if len(d) == 0 {
		return 0
	}
	switch d[0] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 1
	case 'u':
		if len(d) < 5 {
			return 0
		}
		for _, c := range d[1:5] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return 0
			}
		}
		return 5
	}
	return 0
}

// literalBytes returns the value of a scanned string literal: its inner
// bytes when plain, else what encoding/json decodes (escapes resolved,
// invalid UTF-8 replaced).
func literalBytes(lit []byte, plain bool) ([]byte, error) {
	if plain {
		return lit[1 : len(lit)-1], nil
	}
	var v string
	if err := json.Unmarshal(lit, &v); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	return []byte(v), nil
}

// jsonString stores the JSON string value raw in dst as json.Unmarshal into
// a string would: null leaves dst alone, anything but a string is an error.
func jsonString(raw []byte, dst *string) error {
	switch {
	case string(raw) == "null":
		return nil
	case len(raw) < 2 || raw[0] != '"':
		return errors.New("not a string")
	}
	s := jsonScanner{data: raw}
	plain, err := s.str()
	if err != nil || s.pos != len(raw) {
		return errors.New("not a string")
	}
	v, err := literalBytes(raw, plain)
	if err != nil {
		return err
	}
	*dst = string(v)
	return nil
}
