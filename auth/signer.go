package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signer mints dev tokens with the data folder's private key. It is safe for
// concurrent use. It never prints or logs its key.
type Signer struct {
	kid string
	key ed25519.PrivateKey
	now func() time.Time
}

var _ slog.LogValuer = (*Signer)(nil)

// LoadSigner reads dir/jwt.key, as written by EnsureKeys.
func LoadSigner(dir string) (*Signer, error) {
	path := filepath.Join(dir, PrivateKeyFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load signer: %w", err)
	}
	s, err := parsePrivateJWK(data)
	if err != nil {
		return nil, fmt.Errorf("load signer %s: %w", path, err)
	}
	return s, nil
}

func parsePrivateJWK(data []byte) (*Signer, error) {
	var k jwk
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, errors.New("not a JSON JWK") // the decoder's message could quote key bytes
	}
	if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != algEdDSA || k.Kid == "" {
		return nil, fmt.Errorf("want an OKP Ed25519 EdDSA key with a kid, got kty=%q crv=%q alg=%q", k.Kty, k.Crv, k.Alg)
	}
	seed, err := base64.RawURLEncoding.Strict().DecodeString(k.D)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("d is not a base64url Ed25519 seed")
	}
	key := ed25519.NewKeyFromSeed(seed)
	if k.X != "" {
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || !bytes.Equal(x, key.Public().(ed25519.PublicKey)) {
			return nil, errors.New("x does not match d")
		}
	}
	return &Signer{kid: k.Kid, key: key, now: time.Now}, nil
}

// KeyID returns the kid the signer puts in token headers.
func (s *Signer) KeyID() string { return s.kid }

// Mint returns an EdDSA token for sub and role, valid from now for ttl, with
// iss and aud "reelguard" and a random jti.
func (s *Signer) Mint(sub, role string, ttl time.Duration) (string, error) {
	return s.MintAt(sub, role, s.now(), ttl)
}

// MintAt is Mint with the issue time given, for tokens from the past or the
// future (tests, clock-skew drills).
func (s *Signer) MintAt(sub, role string, now time.Time, ttl time.Duration) (string, error) {
	switch {
	case sub == "" || role == "":
		return "", errors.New("mint token: sub and role are required")
	case ttl <= 0:
		return "", fmt.Errorf("mint token: ttl %s is not positive", ttl)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s.sign(claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    DefaultIssuer,
			Audience:  jwt.ClaimStrings{DefaultAudience},
			Subject:   sub,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        hex.EncodeToString(id[:]),
		},
		Role: role,
	})
}

func (s *Signer) sign(c claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = s.kid
	tok, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return tok, nil
}

// LogValue shows the kid only.
func (s *Signer) LogValue() slog.Value { return slog.GroupValue(slog.String("kid", s.kid)) }

// String and GoString keep the private key out of fmt output.
func (s *Signer) String() string   { return "auth.Signer{kid: " + s.kid + "}" }
func (s *Signer) GoString() string { return s.String() }
