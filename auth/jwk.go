package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
)

// RSA key size bounds: 2048 bits at least (NIST SP 800-131A), and at most
// 8192 so a hostile JWKS cannot make every verification slow.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

func parseOKP(k jwk) (ed25519.PublicKey, error) {
	if k.Kty != "OKP" || k.Crv != "Ed25519" {
		return nil, fmt.Errorf("alg %s needs kty OKP, crv Ed25519; got %q, %q", k.Alg, k.Kty, k.Crv)
	}
	x, err := b64(k.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, errors.New("x is not a base64url Ed25519 public key")
	}
	return ed25519.PublicKey(x), nil
}

func parseP256(k jwk) (*ecdsa.PublicKey, error) {
	if k.Kty != "EC" || k.Crv != "P-256" {
		return nil, fmt.Errorf("alg %s needs kty EC, crv P-256; got %q, %q", k.Alg, k.Kty, k.Crv)
	}
	x, errX := b64(k.X)
	y, errY := b64(k.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("x and y must be 32-byte base64url coordinates")
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, errors.New("point is not on P-256")
	}
	return pub, nil
}

func parseRSA(k jwk) (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("alg %s needs kty RSA, got %q", k.Alg, k.Kty)
	}
	n, err := b64Uint(k.N)
	if err != nil {
		return nil, fmt.Errorf("n: %w", err)
	}
	e, err := b64Uint(k.E)
	if err != nil {
		return nil, fmt.Errorf("e: %w", err)
	}
	switch bits := n.BitLen(); {
	case bits < minRSABits || bits > maxRSABits:
		return nil, fmt.Errorf("modulus of %d bits, want %d to %d", bits, minRSABits, maxRSABits)
	case n.Bit(0) == 0:
		return nil, errors.New("modulus is even")
	case !e.IsInt64() || e.Int64() < 65537 || e.Int64() > 1<<31-1 || e.Bit(0) == 0:
		return nil, errors.New("exponent must be odd, at least 65537 and below 2^31")
	case rocaWeak(n):
		return nil, errors.New("modulus has the ROCA fingerprint (CVE-2017-15361)")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// b64 decodes unpadded base64url, refusing padding and stray bits.
func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// b64Uint decodes a Base64urlUInt (RFC 7518 §2): big-endian, no leading zero.
func b64Uint(s string) (*big.Int, error) {
	raw, err := b64(s)
	switch {
	case err != nil:
		return nil, errors.New("not base64url")
	case len(raw) == 0:
		return nil, errors.New("empty")
	case raw[0] == 0:
		return nil, errors.New("leading zero octet")
	}
	return new(big.Int).SetBytes(raw), nil
}

// rocaPrimes are the small primes of the ROCA fingerprint test (Nemec et al.,
// "The Return of Coppersmith's Attack", CCS 2017): Infineon's weak moduli
// are, modulo each of them, a power of 65537. A random modulus passes all 38
// checks with probability below 2^-100.
var rocaPrimes = []int64{3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61,
	67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151,
	157, 163, 167}

func rocaWeak(n *big.Int) bool {
	var m big.Int
	for _, p := range rocaPrimes {
		r := m.Mod(n, big.NewInt(p)).Int64()
		if !inSubgroup65537(r, p) {
			return false
		}
	}
	return true
}

// inSubgroup65537 reports whether r is a power of 65537 modulo p.
func inSubgroup65537(r, p int64) bool {
	g := int64(65537) % p
	for x, i := int64(1), int64(0); i < p; i++ {
		if x == r {
			return true
		}
		if x = x * g % p; x == 1 {
			return false
		}
	}
	return false
}

// publicJWK is the JWKS entry for an Ed25519 public key.
func publicJWK(kid string, pub ed25519.PublicKey) jwk {
	return jwk{
		Kty: "OKP", Crv: "Ed25519", Kid: kid, Alg: algEdDSA, Use: "sig",
		X: base64.RawURLEncoding.EncodeToString(pub),
	}
}
