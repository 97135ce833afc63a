package auth

import (
	"fmt"
	"strings"
)

// maxTokenLen bounds the tokens we parse; ours are about 400 bytes.
const maxTokenLen = 8 << 10

// BearerToken extracts the token from an Authorization header value
// ("Bearer <token>", scheme case-insensitive as RFC 7235 says). An empty header
// or another scheme (Basic, ...) is ErrNoToken; a Bearer header whose token is
// missing, too long or not RFC 6750 b64token characters is ErrMalformed.
func BearerToken(authorization string) (string, error) {
	h := strings.Trim(authorization, " \t")
	if h == "" {
		return "", ErrNoToken
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ErrNoToken
	}
	token := strings.TrimLeft(rest, " ")
	switch {
	case token == "":
		return "", fmt.Errorf("%w: empty bearer token", ErrMalformed)
	case len(token) > maxTokenLen:
		return "", fmt.Errorf("%w: bearer token longer than %d bytes", ErrMalformed, maxTokenLen)
	case !isB64Token(token):
		return "", fmt.Errorf("%w: bearer token has invalid characters", ErrMalformed)
	}
	return token, nil
}

// isB64Token reports whether s matches RFC 6750's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
