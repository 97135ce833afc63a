package auth

import "errors"

// Sentinel errors returned (wrapped) by BearerToken, Verifier.Verify and
// CheckRevoked. Branch on them with errors.Is; Reason maps them to stable ids
// for clients.
var (
	ErrNoToken       = errors.New("no bearer token")
	ErrMalformed     = errors.New("malformed token")
	ErrExpired       = errors.New("token expired")
	ErrNotYetValid   = errors.New("token not yet valid")
	ErrBadSignature  = errors.New("bad token signature")
	ErrUnknownKey    = errors.New("unknown signing key")
	ErrInvalidClaims = errors.New("invalid token claims")
	// ErrForbiddenHeader: the token carries a header that points at or embeds
	// a key (jku, x5u, jwk, x5c). Keys come from the configured JWKS only.
	ErrForbiddenHeader = errors.New("token header names its own key")
	// ErrRevoked: the token's jti is on the deny list (see CheckRevoked).
	ErrRevoked = errors.New("token revoked")
)

// Reason returns a stable id for err, safe to send to clients and to count in
// metrics. Errors that are not auth errors map to "unauthenticated".
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrNoToken):
		return "missing_token"
	case errors.Is(err, ErrMalformed):
		return "malformed_token"
	case errors.Is(err, ErrExpired):
		return "token_expired"
	case errors.Is(err, ErrNotYetValid):
		return "token_not_yet_valid"
	case errors.Is(err, ErrBadSignature):
		return "bad_signature"
	case errors.Is(err, ErrUnknownKey):
		return "unknown_key"
	case errors.Is(err, ErrInvalidClaims):
		return "invalid_claims"
	case errors.Is(err, ErrForbiddenHeader):
		return "forbidden_header"
	case errors.Is(err, ErrRevoked):
		return "token_revoked"
	default:
		return "unauthenticated"
	}
}
