package auth

import "context"

// KeySource supplies the key set a Verifier checks tokens with. Sources may
// change their set at any time (key rotation); a Verifier asks on every
// signature check, so a rotated key is used without a restart.
type KeySource interface {
	// Keys returns the current set, never nil. It runs on every signature
	// check, so it must be cheap and must not block.
	Keys() *JWKS
	// KeysFor is called when kid is not in the current set. A source may
	// fetch a fresher set (rate-limited) and wait for it, at most until ctx
	// is done; it returns the freshest set it has, with or without kid.
	KeysFor(ctx context.Context, kid string) *JWKS
}

var (
	_ KeySource = staticKeys{}
	_ KeySource = (*JWKSProvider)(nil)
)

// StaticKeys is a KeySource that always answers ks.
func StaticKeys(ks *JWKS) KeySource { return staticKeys{ks} }

type staticKeys struct{ ks *JWKS }

func (s staticKeys) Keys() *JWKS                           { return s.ks }
func (s staticKeys) KeysFor(context.Context, string) *JWKS { return s.ks }
