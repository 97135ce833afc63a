package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unicode/utf8"
)

// The algorithms a JWKS key may carry. The allow-list is per key: a key's
// "alg" is the one algorithm its tokens may use. HS256 never comes from a
// JWKS; it needs VerifierConfig.HS256Secret.
const (
	algEdDSA = "EdDSA"
	algES256 = "ES256"
	algRS256 = "RS256"
	algPS256 = "PS256"
	algHS256 = "HS256"
)

// maxJWKSSize bounds what LoadJWKS reads and what a JWKS URL may answer.
const maxJWKSSize = 1 << 20

// maxKidLen bounds a kid, in the JWKS and in token headers.
const maxKidLen = 256

// JWKS is a parsed set of verification keys, each bound to one algorithm.
// It is immutable once built and safe for concurrent use.
type JWKS struct {
	keys map[string]verifyKey // by kid
}

// jwk is the JSON form of one key (RFC 7517, RFC 7518 for EC and RSA, RFC 8037
// for OKP). Members we do not use (x5c, x5t, ...) are ignored, as RFC 7517 says.
type jwk struct {
	Kty    string   `json:"kty"`
	Crv    string   `json:"crv,omitempty"`
	Kid    string   `json:"kid,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	Use    string   `json:"use,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
	D      string   `json:"d,omitempty"`
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// LoadJWKS reads and parses a JWKS file (see ParseJWKS).
func LoadJWKS(path string) (*JWKS, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load jwks: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("load jwks %s: %w", path, err)
	}
	if len(data) > maxJWKSSize {
		return nil, fmt.Errorf("load jwks %s: larger than %d bytes", path, maxJWKSSize)
	}
	ks, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("load jwks %s: %w", path, err)
	}
	return ks, nil
}

// ParseJWKS parses a JWKS document, strictly: one JSON object, no duplicate
// member names. Keys this package does not verify with are skipped, as JWKS
// consumers do: "use" other than "sig", key_ops without "verify", symmetric
// ("oct") keys, and keys whose "alg" is absent or not one of EdDSA, ES256,
// RS256, PS256 (the algorithm must be named: it is pinned to the key). A key
// that would be used but is wrong is an error for the whole set: private
// material ("d"), no or bad kid, a duplicate kid, an alg that does not fit the
// key type or curve, a point off the curve, an RSA modulus under 2048 bits,
// an exponent under 65537, a ROCA-weak modulus. A set with no usable key is an
// error too.
func ParseJWKS(data []byte) (*JWKS, error) {
	if err := checkStrictJSON(data); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	var set jwkSet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	ks := &JWKS{keys: make(map[string]verifyKey, len(set.Keys))}
	for i, k := range set.Keys {
		if k.D != "" {
			return nil, fmt.Errorf("parse jwks: key %d holds private material", i+1)
		}
		if !usableForVerify(k) {
			continue
		}
		vk, err := parseJWK(k)
		if err != nil {
			return nil, fmt.Errorf("parse jwks: key %d: %w", i+1, err)
		}
		if _, dup := ks.keys[k.Kid]; dup {
			return nil, fmt.Errorf("parse jwks: duplicate kid %q", k.Kid)
		}
		ks.keys[k.Kid] = vk
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("parse jwks: no usable signing key")
	}
	return ks, nil
}

func usableForVerify(k jwk) bool {
	switch {
	case k.Kty == "oct":
		return false // symmetric keys never come from a JWKS
	case k.Use != "" && k.Use != "sig":
		return false
	case k.KeyOps != nil && !slices.Contains(k.KeyOps, "verify"):
		return false
	}
	switch k.Alg {
	case algEdDSA, algES256, algRS256, algPS256:
		return true
	}
	return false
}

// parseJWK builds the verification key of a usable JWK.
func parseJWK(k jwk) (verifyKey, error) {
	if err := checkKid(k.Kid); err != nil {
		return verifyKey{}, err
	}
	var (
		pub any
		err error
	)
	switch k.Alg {
	case algEdDSA:
		pub, err = parseOKP(k)
	case algES256:
		pub, err = parseP256(k)
	default: // RS256, PS256
		pub, err = parseRSA(k)
	}
	if err != nil {
		return verifyKey{}, fmt.Errorf("kid %q: %w", k.Kid, err)
	}
	return verifyKey{alg: k.Alg, pub: pub}, nil
}

// checkKid accepts a kid of 1 to 256 bytes of UTF-8 without control
// characters. A kid is only ever a map key here, never a path or a query.
func checkKid(kid string) error {
	switch {
	case kid == "":
		return errors.New("missing kid")
	case len(kid) > maxKidLen:
		return fmt.Errorf("kid longer than %d bytes", maxKidLen)
	case !utf8.ValidString(kid):
		return errors.New("kid is not UTF-8")
	}
	for _, r := range kid {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return errors.New("kid has control characters")
		}
	}
	return nil
}

// KeyIDs lists the usable kids, sorted.
func (j *JWKS) KeyIDs() []string {
	ids := make([]string, 0, len(j.keys))
	for kid := range j.keys {
		ids = append(ids, kid)
	}
	slices.Sort(ids)
	return ids
}

// Algorithm returns the algorithm pinned to kid, and whether kid is in the set.
func (j *JWKS) Algorithm(kid string) (string, bool) {
	k, ok := j.keys[kid]
	return k.alg, ok
}

func (j *JWKS) lookup(kid string) (verifyKey, bool) {
	if j == nil {
		return verifyKey{}, false
	}
	k, ok := j.keys[kid]
	return k, ok
}
