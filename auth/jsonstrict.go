package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// maxJSONDepth bounds nesting in the JSON we accept; ours nests two levels.
const maxJSONDepth = 32

// boundNames are the member names this package decodes into structs.
// encoding/json matches struct fields case-insensitively, so {"SUB":...}
// would fill Subject; a name that folds to one of these but differs from it
// is refused, as are two names that fold to the same string.
var boundNames = map[string]bool{
	"keys": true, "kty": true, "crv": true, "kid": true, "alg": true, "use": true,
	"key_ops": true, "x": true, "y": true, "n": true, "e": true, "d": true, "k": true,
	"typ": true, "iss": true, "sub": true, "aud": true, "exp": true, "nbf": true,
	"iat": true, "jti": true, "role": true,
}

var errNotObject = errors.New("not a JSON object")

// checkStrictJSON accepts exactly one JSON object, with no duplicate member
// names at any depth (compared case-insensitively, as encoding/json binds
// them) and nothing after it. It returns the object's own member names. This
// closes the parser-differential gap where two parsers read different values
// from {"sub":"a","sub":"b"}: encoding/json keeps the last, others the first.
func checkStrictJSON(data []byte) ([]string, error) {
	return checkStrictJSONNumbers(data, nil)
}

// checkStrictJSONNumbers is checkStrictJSON that also requires the object's
// own members named in numbers to be JSON numbers (encoding/json would take
// "exp":"1700000000", a string, for a NumericDate).
func checkStrictJSONNumbers(data []byte, numbers []string) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers stay text: no float parsing during the scan
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	names, err := scanObject(dec, 1, numbers)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("json: data after the object")
	}
	return names, nil
}

// scanObject reads members up to and including the closing brace.
func scanObject(dec *json.Decoder, depth int, numbers []string) ([]string, error) {
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("json: member name is not a string")
		}
		if err := checkName(names, name); err != nil {
			return nil, err
		}
		names = append(names, name)
		if slices.Contains(numbers, name) {
			if err := scanNumber(dec, name); err != nil {
				return nil, err
			}
			continue
		}
		if err := scanValue(dec, depth); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	return names, nil
}

func checkName(seen []string, name string) error {
	lower := strings.ToLower(name)
	if lower != name && boundNames[lower] {
		return fmt.Errorf("json: member %q differs from %q only in case", name, lower)
	}
	if len(seen) > 64 {
		return errors.New("json: more than 64 members in one object")
	}
	for _, s := range seen {
		if strings.EqualFold(s, name) {
			return fmt.Errorf("json: duplicate member %q", name)
		}
	}
	return nil
}

func scanValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return errors.New("json: nested too deeply")
	}
	if d == '{' {
		_, err := scanObject(dec, depth+1, nil)
		return err
	}
	for dec.More() { // d == '[': a closing delimiter is never returned here
		if err := scanValue(dec, depth+1); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

func scanNumber(dec *json.Decoder, name string) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	if _, ok := tok.(json.Number); !ok {
		return fmt.Errorf("json: %s is not a number", name)
	}
	return nil
}
