package auth

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// boundNames are the member names this package decodes. encoding/json
// matches struct fields case-insensitively (with Unicode folding: "ſub" fills
// Subject), so a name that folds to one of these but differs from it is
// refused, as are two names that fold to the same string.
var boundNames = map[string]bool{
	"keys": true, "kty": true, "crv": true, "kid": true, "alg": true, "use": true,
	"key_ops": true, "x": true, "y": true, "n": true, "e": true, "d": true, "k": true,
	"typ": true, "iss": true, "sub": true, "aud": true, "exp": true, "nbf": true,
	"iat": true, "jti": true, "role": true,
}

// maxBoundLen is the length of the longest name in boundNames.
const maxBoundLen = len("key_ops")

// checkName refuses name when an earlier member of its object has a name
// that folds to the same string, or when it folds to a bound name without
// being it.
func checkName(seen []member, name []byte) error {
	if foldsToBoundName(name) {
		return fmt.Errorf("json: member %q differs from a bound name only in case", name)
	}
	if len(seen) >= maxJSONMembers {
		return fmt.Errorf("json: more than %d members in one object", maxJSONMembers)
	}
	for _, m := range seen {
		if bytes.EqualFold(m.name, name) {
			return fmt.Errorf("json: duplicate member %q", name)
		}
	}
	return nil
}

// foldsToBoundName reports whether name is not a bound name but lower-cases
// or case-folds (as encoding/json matches field names) to one. It allocates
// only for names with non-ASCII bytes.
func foldsToBoundName(name []byte) bool {
	if len(name) > utf8.UTFMax*maxBoundLen {
		return false // a rune that folds to ASCII takes at most 3 bytes
	}
	var buf [utf8.UTFMax * maxBoundLen]byte
	upper := false
	for i, c := range name {
		if c >= utf8.RuneSelf {
			return foldsToBoundNameUnicode(string(name))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
			upper = true
		}
		buf[i] = c
	}
	return upper && boundNames[string(buf[:len(name)])]
}

// foldsToBoundNameUnicode is foldsToBoundName for a name with non-ASCII
// runes, which is never a bound name itself. Both strings.ToLower ("K", the
// Kelvin sign, lowers to "k") and encoding/json's folding ("ſ" folds with
// "s") are checked.
func foldsToBoundNameUnicode(name string) bool {
	if boundNames[strings.ToLower(name)] {
		return true
	}
	folded := make([]rune, 0, len(name))
	for _, r := range name {
		folded = append(folded, unicode.ToLower(foldRune(r)))
	}
	return boundNames[string(folded)]
}

// foldRune is the smallest rune of r's case-folding orbit, as encoding/json
// folds names.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}
