// Package auth verifies the gateway's bearer tokens and mints dev tokens.
//
// Tokens are JWTs signed with Ed25519 keys published in a JWKS file. Each key in
// the JWKS carries its own algorithm and a token is checked only with the
// algorithm bound to its kid, so "none", HMAC-with-the-public-key and other
// algorithm-confusion tricks fail before any signature math. Verified tokens are
// cached by the SHA-256 of the token string until they expire, so repeated
// requests skip the signature check.
//
// The package imports nothing else of Reelguard.
package auth
