package auth

import (
	"log/slog"
	"time"
)

// Principal is the authenticated caller a verified token describes.
type Principal struct {
	Subject string    // the token's sub
	Role    string    // the custom "role" claim: user, service, ingest or admin
	TokenID string    // the token's jti (empty when the token has none); used for revocation
	Expires time.Time // the token's exp
}

var _ slog.LogValuer = Principal{}

// LogValue logs who the caller is and which token it used, never the token
// itself: a Principal holds no secret, and the token string never reaches it.
func (p Principal) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("sub", p.Subject),
		slog.String("role", p.Role),
		slog.String("jti", p.TokenID),
		slog.Time("exp", p.Expires),
	)
}
