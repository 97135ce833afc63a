package auth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// forbiddenHeaders point at or carry a key. Keys come from the configured
// JWKS only, so a token that brings its own is refused outright rather than
// having the header ignored (RFC 8725 §3.10: never fetch from them).
var forbiddenHeaders = []string{"jku", "x5u", "jwk", "x5c"}

// jws is a compact JWS split and decoded, not yet verified.
type jws struct {
	alg, kid     string
	signingInput string // header.payload, as the signature covers it
	payload      []byte
	sig          []byte
}

type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// parseJWS splits a compact JWS (three base64url segments, unpadded, strict)
// and checks its protected header: strict JSON, no crit, no key-bearing
// headers, typ absent or a JWT type, kid a sane string.
func parseJWS(token string) (jws, error) {
	if strings.Count(token, ".") != 2 {
		return jws{}, fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	h, rest, _ := strings.Cut(token, ".")
	p, s, _ := strings.Cut(rest, ".")
	enc := base64.RawURLEncoding.Strict()
	rawHeader, err := enc.DecodeString(h)
	if err != nil {
		return jws{}, fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	payload, err := enc.DecodeString(p)
	if err != nil {
		return jws{}, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	sig, err := enc.DecodeString(s)
	if err != nil {
		return jws{}, fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	hdr, err := parseHeader(rawHeader)
	if err != nil {
		return jws{}, err
	}
	return jws{alg: hdr.Alg, kid: hdr.Kid, signingInput: token[:len(h)+1+len(p)], payload: payload, sig: sig}, nil
}

func parseHeader(raw []byte) (jwsHeader, error) {
	names, err := checkStrictJSON(raw)
	if err != nil {
		return jwsHeader{}, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	for _, name := range forbiddenHeaders {
		if slices.Contains(names, name) {
			return jwsHeader{}, fmt.Errorf("%w: %s header", ErrForbiddenHeader, name)
		}
	}
	if slices.Contains(names, "crit") {
		// We understand no extensions, so RFC 7515 §4.1.11 says reject.
		return jwsHeader{}, fmt.Errorf("%w: crit header not supported", ErrMalformed)
	}
	var hdr jwsHeader
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return jwsHeader{}, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	if !jwtType(hdr.Typ, slices.Contains(names, "typ")) {
		return jwsHeader{}, fmt.Errorf("%w: typ %q is not a JWT access token type", ErrMalformed, hdr.Typ)
	}
	if hdr.Kid == "" {
		return jwsHeader{}, fmt.Errorf("%w: token has no kid", ErrUnknownKey)
	}
	if err := checkKid(hdr.Kid); err != nil {
		return jwsHeader{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return hdr, nil
}

// jwtType accepts typ absent, "JWT" or "at+jwt" (RFC 9068), with or without
// the "application/" prefix, in any case (media types are case-insensitive).
// Anything else (an ID token's "id_token+jwt", a logout token, "JWE") is
// another kind of token that must not pass as an access token.
func jwtType(typ string, present bool) bool {
	t := strings.TrimPrefix(strings.ToLower(typ), "application/")
	return !present || t == "jwt" || t == "at+jwt"
}
