// Package auth verifies the gateway's bearer tokens and mints dev tokens.
//
// Tokens are JWTs checked against a JWKS: a fixed set (NewVerifier), or a
// KeySource that follows a JWKS file or HTTPS URL (NewFileJWKS, NewURLJWKS,
// NewVerifierFrom), re-checked after a TTL and refetched, at most once per
// cooldown and one fetch at a time, when a token names an unknown kid; a
// failed fetch keeps the last good set. Each key carries its one algorithm
// (EdDSA, ES256, RS256 of 2048 bits or more, PS256 with a hash-length salt);
// HS256 exists only with a configured secret of 32 bytes or more. A token is
// checked only with the algorithm bound to its kid, so "none",
// HMAC-with-the-public-key and other algorithm-confusion tricks fail before
// any signature math. Headers that bring a key (jku, x5u, jwk, x5c) are
// refused, never followed. Header and claims are parsed strictly (no
// duplicate members), and exp, iat, iss, aud, sub, role, nbf, typ and the
// token's lifetime are checked. Verified tokens are cached by the SHA-256 of
// the token string until they expire or the key set changes. Revocation by
// jti is a RevocationList consulted through CheckRevoked.
//
// The package imports nothing else of Reelguard.
package auth
