package auth

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// claims are the claims a Reelguard token must carry.
type claims struct {
	jwt.RegisteredClaims
	Role string `json:"role"`
}

// numericClaims must be JSON numbers (RFC 7519 NumericDate).
var numericClaims = []string{"exp", "nbf", "iat"}

// Validate is called by the jwt validator after the registered-claim checks.
func (c claims) Validate() error {
	var missing []string
	if c.Subject == "" {
		missing = append(missing, "sub")
	}
	if c.Role == "" {
		missing = append(missing, "role")
	}
	if missing != nil {
		return fmt.Errorf("%w: %s", jwt.ErrTokenRequiredClaimMissing, strings.Join(missing, ", "))
	}
	return nil
}

// parseClaims decodes the payload strictly: one JSON object, no duplicate
// names, NumericDates as numbers, claim types as declared. It reads the
// claims from the members the strict scan found, as json.Unmarshal into
// claims would (a test compares the two), without a second pass over the
// payload.
func parseClaims(payload []byte) (claims, error) {
	var buf [16]member
	members, err := strictObject(payload, numericClaims, buf[:0])
	if err != nil {
		return claims{}, fmt.Errorf("%w: claims: %w", ErrMalformed, err)
	}
	var c claims
	for _, m := range members {
		if err := c.set(m); err != nil {
			return claims{}, fmt.Errorf("%w: claims: %s: %w", ErrMalformed, m.name, err)
		}
	}
	return c, nil
}

// set decodes one member; strict scanning left no duplicate, no case variant
// of a claim name, and only numbers for the NumericDates.
func (c *claims) set(m member) error {
	switch string(m.name) {
	case "iss":
		return jsonString(m.value, &c.Issuer)
	case "sub":
		return jsonString(m.value, &c.Subject)
	case "jti":
		return jsonString(m.value, &c.ID)
	case "role":
		return jsonString(m.value, &c.Role)
	case "aud":
		return audience(m.value, &c.Audience)
	case "exp":
		return numericDate(m.value, &c.ExpiresAt)
	case "nbf":
		return numericDate(m.value, &c.NotBefore)
	case "iat":
		return numericDate(m.value, &c.IssuedAt)
	}
	return nil
}

// audience decodes "aud", a string or an array of strings, as
// jwt.ClaimStrings.UnmarshalJSON does; it leaves only the unusual cases
// (escapes, non-ASCII, an empty array, other types) to that decoder.
func audience(raw []byte, dst *jwt.ClaimStrings) error {
	if raw[0] == '"' {
		var s string
		if err := jsonString(raw, &s); err != nil {
			return err
		}
		*dst = jwt.ClaimStrings{s}
		return nil
	}
	if aud, ok := plainStrings(raw); ok {
		*dst = aud
		return nil
	}
	return dst.UnmarshalJSON(raw)
}

// plainStrings reads a checked, non-empty JSON array of plain strings.
func plainStrings(raw []byte) ([]string, bool) {
	s := jsonScanner{data: raw}
	if raw[0] != '[' || s.open(']') {
		return nil, false
	}
	var out []string
	for {
		start := s.pos
		if s.pos == len(raw) || raw[s.pos] != '"' {
			return nil, false
		}
		if plain, err := s.str(); err != nil || !plain {
			return nil, false
		}
		out = append(out, string(raw[start+1:s.pos-1]))
		if more, err := s.more(']'); err != nil {
			return nil, false
		} else if !more {
			return out, true
		}
	}
}

// numericDate decodes a NumericDate, a JSON number the strict scan has
// checked, as jwt.NumericDate.UnmarshalJSON does (by way of json.Number and
// a float64) without its second JSON decoding.
func numericDate(raw []byte, dst **jwt.NumericDate) error {
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return fmt.Errorf("could not convert json number value to float: %w", err)
	}
	round, frac := math.Modf(f)
	*dst = jwt.NewNumericDate(time.Unix(int64(round), int64(frac*1e9)))
	return nil
}
