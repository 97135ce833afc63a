package auth

import (
	"encoding/base64"
	"fmt"
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

// jwsEncoding is base64url without padding, refusing stray bits.
var jwsEncoding = base64.RawURLEncoding.Strict()

// parseJWS splits a compact JWS (three base64url segments, unpadded, strict)
// and checks its protected header: strict JSON, no crit, no key-bearing
// headers, typ absent or a JWT type, kid a sane string.
func parseJWS(token string) (jws, error) {
	if strings.Count(token, ".") != 2 {
		return jws{}, fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	if strings.ContainsAny(token, "\r\n") {
		// The base64 decoder skips them, so a signature segment with a line
		// break in it would still verify: another string, the same token.
		return jws{}, fmt.Errorf("%w: line break in token", ErrMalformed)
	}
	h, rest, _ := strings.Cut(token, ".")
	p, s, _ := strings.Cut(rest, ".")
	buf := make([]byte, 0, jwsEncoding.DecodedLen(len(h))+jwsEncoding.DecodedLen(len(p))+jwsEncoding.DecodedLen(len(s)))
	rawHeader, err := jwsEncoding.AppendDecode(buf, []byte(h))
	if err != nil {
		return jws{}, fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	payload, err := jwsEncoding.AppendDecode(rawHeader[len(rawHeader):], []byte(p))
	if err != nil {
		return jws{}, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	sig, err := jwsEncoding.AppendDecode(payload[len(payload):], []byte(s))
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
	var buf [8]member
	members, err := strictObject(raw, nil, buf[:0])
	if err != nil {
		return jwsHeader{}, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	for _, name := range forbiddenHeaders {
		if hasMember(members, name) {
			return jwsHeader{}, fmt.Errorf("%w: %s header", ErrForbiddenHeader, name)
		}
	}
	if hasMember(members, "crit") {
		// We understand no extensions, so RFC 7515 §4.1.11 says reject.
		return jwsHeader{}, fmt.Errorf("%w: crit header not supported", ErrMalformed)
	}
	hdr, err := headerFields(members)
	if err != nil {
		return jwsHeader{}, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	if !jwtType(hdr.Typ, hasMember(members, "typ")) {
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

// headerFields reads alg, kid and typ from a strictly checked header, as
// json.Unmarshal into jwsHeader would: strict checking left no duplicate and
// no case variant of these names.
func headerFields(members []member) (jwsHeader, error) {
	var hdr jwsHeader
	for _, m := range members {
		var field *string
		switch string(m.name) {
		case "alg":
			field = &hdr.Alg
		case "kid":
			field = &hdr.Kid
		case "typ":
			field = &hdr.Typ
		default:
			continue
		}
		if err := jsonString(m.value, field); err != nil {
			return jwsHeader{}, fmt.Errorf("%s: %w", m.name, err)
		}
	}
	return hdr, nil
}

func hasMember(members []member, name string) bool {
	for _, m := range members {
		if string(m.name) == name {
			return true
		}
	}
	return false
}

// jwtType accepts typ absent, "JWT" or "at+jwt" (RFC 9068), with or without
// the "application/" prefix, in any case (media types are case-insensitive).
// Anything else (an ID token's "id_token+jwt", a logout token, "JWE") is
// another kind of token that must not pass as an access token.
func jwtType(typ string, present bool) bool {
	t := strings.TrimPrefix(strings.ToLower(typ), "application/")
	return !present || t == "jwt" || t == "at+jwt"
}
