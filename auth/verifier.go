package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults for a zero VerifierConfig.
const (
	DefaultIssuer      = "reelguard"
	DefaultAudience    = "reelguard"
	DefaultLeeway      = 30 * time.Second
	DefaultMaxLifetime = 24 * time.Hour
	// MinHS256SecretLen is the shortest HS256 secret accepted: as long as
	// the hash (RFC 7518 §3.2).
	MinHS256SecretLen = 32
)

// VerifierConfig says which tokens a Verifier accepts. The zero value works.
type VerifierConfig struct {
	Issuer   string        // required "iss"; default DefaultIssuer
	Audience string        // required member of "aud"; default DefaultAudience
	Leeway   time.Duration // clock skew allowed on exp, nbf and iat; default 30s, negative means none
	// CacheSize caps the cache of verified tokens; default 10000, negative disables it.
	CacheSize int
	// MaxLifetime caps exp - iat, and makes iat required; default 24h,
	// negative means no cap.
	MaxLifetime time.Duration
	// HS256Secret enables HS256 for tokens whose kid is HS256KeyID, with
	// this shared secret of at least 32 bytes. Default: no HS256 at all. An
	// HS256 key never comes from a JWKS; this kid shadows a JWKS key of the
	// same kid.
	HS256Secret Secret
	HS256KeyID  string // required with HS256Secret
}

// Validate reports a config that cannot be used.
func (c VerifierConfig) Validate() error {
	switch {
	case len(c.HS256Secret) == 0 && c.HS256KeyID != "":
		return errors.New("verifier config: HS256KeyID without HS256Secret")
	case len(c.HS256Secret) == 0:
		return nil
	case len(c.HS256Secret) < MinHS256SecretLen:
		return fmt.Errorf("verifier config: HS256 secret of %d bytes, want at least %d", len(c.HS256Secret), MinHS256SecretLen)
	}
	if err := checkKid(c.HS256KeyID); err != nil {
		return fmt.Errorf("verifier config: HS256KeyID: %w", err)
	}
	return nil
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
	if c.MaxLifetime == 0 {
		c.MaxLifetime = DefaultMaxLifetime
	}
	return c
}

// Verifier checks bearer tokens against the keys of a KeySource. It is safe
// for concurrent use.
type Verifier struct {
	src       KeySource
	hmac      verifyKey // alg "" when HS256 is off
	hmacKid   string
	validator *jwt.Validator
	maxLife   time.Duration // <= 0: no cap
	cache     *tokenCache
	now       func() time.Time
}

// NewVerifier returns a Verifier over a fixed key set. It is
// NewVerifierFrom(StaticKeys(keys), cfg), except that an invalid HS256
// setting turns HS256 off (its tokens fail as unknown_key) instead of being
// reported: use NewVerifierFrom to see the error.
func NewVerifier(keys *JWKS, cfg VerifierConfig) *Verifier {
	if cfg.Validate() != nil {
		cfg.HS256Secret, cfg.HS256KeyID = nil, ""
	}
	v, _ := NewVerifierFrom(StaticKeys(keys), cfg) // cannot fail now
	return v
}

// NewVerifierFrom returns a Verifier that reads the current keys from src on
// every signature check, so key rotation needs no restart.
func NewVerifierFrom(src KeySource, cfg VerifierConfig) (*Verifier, error) {
	if src == nil {
		return nil, errors.New("new verifier: nil key source")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new verifier: %w", err)
	}
	cfg = cfg.withDefaults()
	v := &Verifier{src: src, maxLife: cfg.MaxLifetime, cache: newTokenCache(cfg.CacheSize), now: time.Now}
	if len(cfg.HS256Secret) > 0 {
		v.hmac = verifyKey{alg: algHS256, pub: Secret(append([]byte(nil), cfg.HS256Secret...))}
		v.hmacKid = cfg.HS256KeyID
	}
	v.validator = jwt.NewValidator(
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
	)
	return v, nil
}

// Verify is VerifyContext without a deadline of its own: a fetch for an
// unknown kid is still bounded by the key source's timeout.
func (v *Verifier) Verify(token string) (Principal, error) {
	return v.VerifyContext(context.Background(), token)
}

// VerifyContext checks a token's header, kid, algorithm, signature and claims
// (exp, nbf, iat, iss, aud, sub, role, lifetime) and returns its Principal.
// Only an unknown kid can make it wait, for a key refetch, at most until ctx
// is done. It does not consult a revocation list: see CheckRevoked. Errors
// wrap one of the package's sentinels; see Reason.
func (v *Verifier) VerifyContext(ctx context.Context, token string) (Principal, error) {
	switch {
	case token == "":
		return Principal{}, ErrNoToken
	case len(token) > maxTokenLen:
		return Principal{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxTokenLen)
	}
	now := v.now()
	key := cacheKey(token)
	cur := v.src.Keys()
	if p, ok := v.cache.get(key, now, cur); ok {
		return p, nil
	}
	p, set, err := v.verify(ctx, token, cur)
	if err != nil {
		return Principal{}, err
	}
	v.cache.put(key, p, now, set)
	return p, nil
}

// verify checks token with the keys of cur (or of a fresher set when the kid
// is unknown) and returns the set it used.
func (v *Verifier) verify(ctx context.Context, token string, cur *JWKS) (Principal, *JWKS, error) {
	t, err := parseJWS(token)
	if err != nil {
		return Principal{}, nil, err
	}
	c, err := parseClaims(t.payload)
	if err != nil {
		return Principal{}, nil, err
	}
	set, err := v.checkSignature(ctx, t, cur)
	if err != nil {
		return Principal{}, nil, err
	}
	if err := v.validator.Validate(c); err != nil {
		return Principal{}, nil, classify(err)
	}
	if err := v.checkLifetime(c); err != nil {
		return Principal{}, nil, err
	}
	return Principal{Subject: c.Subject, Role: c.Role, TokenID: c.ID, Expires: c.ExpiresAt.Time}, set, nil
}

// checkSignature finds the kid's key and verifies with the key's algorithm.
// The algorithm is the key's, never the token's: a token naming any other
// (none, HS256 against a public key, ...) fails before any signature math.
func (v *Verifier) checkSignature(ctx context.Context, t jws, cur *JWKS) (*JWKS, error) {
	k, set, ok := v.key(ctx, t.kid, cur)
	if !ok {
		return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, t.kid)
	}
	if t.alg != k.alg {
		return nil, fmt.Errorf("%w: algorithm %q not allowed for kid %q", ErrBadSignature, t.alg, t.kid)
	}
	if !k.verify(t.signingInput, t.sig) {
		return nil, fmt.Errorf("%w: %s signature does not verify", ErrBadSignature, k.alg)
	}
	return set, nil
}

// key finds kid: the configured HS256 kid first, then cur, then a fresher
// set from the source. It returns the set it looked in.
func (v *Verifier) key(ctx context.Context, kid string, cur *JWKS) (verifyKey, *JWKS, bool) {
	if v.hmacKid != "" && kid == v.hmacKid {
		return v.hmac, cur, true
	}
	if k, ok := cur.lookup(kid); ok {
		return k, cur, true
	}
	fresh := v.src.KeysFor(ctx, kid)
	k, ok := fresh.lookup(kid)
	return k, fresh, ok
}

func (v *Verifier) checkLifetime(c claims) error {
	if v.maxLife <= 0 {
		return nil
	}
	if c.IssuedAt == nil {
		return fmt.Errorf("%w: iat is required", ErrInvalidClaims)
	}
	if life := c.ExpiresAt.Sub(c.IssuedAt.Time); life > v.maxLife {
		return fmt.Errorf("%w: lifetime %s exceeds %s", ErrInvalidClaims, life, v.maxLife)
	}
	return nil
}

// classify maps a jwt validation error to our sentinel, keeping the cause.
func classify(err error) error {
	var sentinel error
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		sentinel = ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		sentinel = ErrNotYetValid
	default:
		sentinel = ErrInvalidClaims
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
