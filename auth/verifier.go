package auth

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults for a zero VerifierConfig.
const (
	DefaultIssuer   = "reelguard"
	DefaultAudience = "reelguard"
	DefaultLeeway   = 30 * time.Second
)

// VerifierConfig says which tokens a Verifier accepts. The zero value works.
type VerifierConfig struct {
	Issuer   string        // required "iss"; default DefaultIssuer
	Audience string        // required member of "aud"; default DefaultAudience
	Leeway   time.Duration // clock skew allowed on exp, nbf and iat; default 30s, negative means none
	// CacheSize caps the cache of verified tokens; default 10000, negative disables it.
	CacheSize int
}

func (c VerifierConfig) withDefaults() VerifierConfig {
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	switch {
	case c.Leeway == 0:
		c.Leeway = DefaultLeeway
	case c.Leeway < 0:
		c.Leeway = 0
	}
	if c.CacheSize == 0 {
		c.CacheSize = defaultCacheSize
	}
	return c
}

// Verifier checks bearer tokens against a JWKS. It is safe for concurrent use.
type Verifier struct {
	keys  map[string]keyVerifier // by kid
	cache *tokenCache
	now   func() time.Time
}

// keyVerifier pairs a key with a parser that accepts only that key's algorithm.
type keyVerifier struct {
	alg    string
	pub    ed25519.PublicKey
	parser *jwt.Parser
}

// claims are the claims a Reelguard token must carry.
type claims struct {
	jwt.RegisteredClaims
	Role string `json:"role"`
}

// Validate is called by the jwt parser after the registered-claim checks.
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

// NewVerifier returns a Verifier for the keys and config.
func NewVerifier(keys *JWKS, cfg VerifierConfig) *Verifier {
	cfg = cfg.withDefaults()
	v := &Verifier{
		keys:  make(map[string]keyVerifier, len(keys.keys)),
		cache: newTokenCache(cfg.CacheSize),
		now:   time.Now,
	}
	for kid, k := range keys.keys {
		v.keys[kid] = keyVerifier{alg: k.alg, pub: k.pub, parser: jwt.NewParser(
			jwt.WithValidMethods([]string{k.alg}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithStrictDecoding(),
			jwt.WithTimeFunc(func() time.Time { return v.now() }),
		)}
	}
	return v
}

// Verify checks a token's kid, algorithm, signature and claims (exp, nbf, iat,
// iss, aud, sub, role) and returns its Principal. Errors wrap one of the
// package's sentinels; see Reason.
func (v *Verifier) Verify(token string) (Principal, error) {
	switch {
	case token == "":
		return Principal{}, ErrNoToken
	case len(token) > maxTokenLen:
		return Principal{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxTokenLen)
	}
	now := v.now()
	key := cacheKey(token)
	if p, ok := v.cache.get(key, now); ok {
		return p, nil
	}
	p, err := v.verify(token)
	if err != nil {
		return Principal{}, err
	}
	v.cache.put(key, p, now)
	return p, nil
}

func (v *Verifier) verify(token string) (Principal, error) {
	kid, alg, err := parseHeader(token)
	if err != nil {
		return Principal{}, err
	}
	k, ok := v.keys[kid]
	if !ok {
		return Principal{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}
	// The algorithm is the key's, never the token's: refuse any other before
	// touching the payload. The parser's WithValidMethods checks it again.
	if alg != k.alg {
		return Principal{}, fmt.Errorf("%w: algorithm %q not allowed for kid %q", ErrBadSignature, alg, kid)
	}
	var c claims
	_, err = k.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if _, ok := t.Method.(*jwt.SigningMethodEd25519); !ok {
			return nil, fmt.Errorf("algorithm %s not allowed for key", t.Method.Alg())
		}
		return k.pub, nil
	})
	if err != nil {
		return Principal{}, classify(err)
	}
	return Principal{Subject: c.Subject, Role: c.Role, TokenID: c.ID, Expires: c.ExpiresAt.Time}, nil
}

// parseHeader reads kid and alg from the token's protected header. It rejects
// a "crit" header: we understand no extensions, so RFC 7515 says reject.
func parseHeader(token string) (kid, alg string, err error) {
	seg, _, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return "", "", fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw, &hdr); err != nil || hdr == nil {
		return "", "", fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	if _, ok := hdr["crit"]; ok {
		return "", "", fmt.Errorf("%w: crit header not supported", ErrMalformed)
	}
	if kid, err = headerString(hdr, "kid"); err != nil {
		return "", "", err
	}
	if kid == "" {
		return "", "", fmt.Errorf("%w: token has no kid", ErrUnknownKey)
	}
	if alg, err = headerString(hdr, "alg"); err != nil {
		return "", "", err
	}
	return kid, alg, nil
}

// headerString returns a string header parameter, "" when absent.
func headerString(hdr map[string]json.RawMessage, name string) (string, error) {
	raw, ok := hdr[name]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: %s is not a string", ErrMalformed, name)
	}
	return s, nil
}

// classify maps a jwt error to our sentinel, keeping the cause for logs.
func classify(err error) error {
	var sentinel error
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		sentinel = ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		sentinel = ErrBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		sentinel = ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		sentinel = ErrNotYetValid
	default:
		sentinel = ErrInvalidClaims
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
