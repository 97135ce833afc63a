package auth

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// algEdDSA is the only JWS algorithm this package verifies today. The
// allow-list is per key: a key's "alg" is the one algorithm its tokens may use.
const algEdDSA = "EdDSA"

// maxJWKSSize bounds what LoadJWKS reads.
const maxJWKSSize = 1 << 20

// JWKS is a parsed set of verification keys, each bound to one algorithm.
// It is immutable once built and safe for concurrent use.
type JWKS struct {
	keys map[string]verifyKey // by kid
}

type verifyKey struct {
	alg string
	pub ed25519.PublicKey
}

// jwk is the JSON form of one key (RFC 7517, RFC 8037 for OKP).
type jwk struct {
	Kty    string   `json:"kty"`
	Crv    string   `json:"crv,omitempty"`
	Kid    string   `json:"kid,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	Use    string   `json:"use,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	X      string   `json:"x,omitempty"`
	D      string   `json:"d,omitempty"`
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// LoadJWKS reads and parses a JWKS file (see ParseJWKS).
func LoadJWKS(path string) (*JWKS, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load jwks: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("load jwks %s: %w", path, err)
	}
	if len(data) > maxJWKSSize {
		return nil, fmt.Errorf("load jwks %s: larger than %d bytes", path, maxJWKSSize)
	}
	ks, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("load jwks %s: %w", path, err)
	}
	return ks, nil
}

// ParseJWKS parses a JWKS document. Keys this package cannot verify with
// (other key types, "use":"enc", key_ops without "verify") are skipped, as JWKS
// consumers do; an Ed25519 key must name its algorithm ("alg":"EdDSA") and a kid.
// A key with private material ("d"), a duplicate kid or no usable key at all is
// an error.
func ParseJWKS(data []byte) (*JWKS, error) {
	var set jwkSet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	ks := &JWKS{keys: make(map[string]verifyKey, len(set.Keys))}
	for i, k := range set.Keys {
		if k.D != "" {
			return nil, fmt.Errorf("parse jwks: key %d holds private material", i+1)
		}
		if !usableForVerify(k) {
			continue
		}
		vk, err := parseOKP(k)
		if err != nil {
			return nil, fmt.Errorf("parse jwks: key %d: %w", i+1, err)
		}
		if _, dup := ks.keys[k.Kid]; dup {
			return nil, fmt.Errorf("parse jwks: duplicate kid %q", k.Kid)
		}
		ks.keys[k.Kid] = vk
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("parse jwks: no usable Ed25519 signing key")
	}
	return ks, nil
}

func usableForVerify(k jwk) bool {
	if k.Kty != "OKP" || k.Crv != "Ed25519" {
		return false
	}
	if k.Use != "" && k.Use != "sig" {
		return false
	}
	return k.KeyOps == nil || slices.Contains(k.KeyOps, "verify")
}

func parseOKP(k jwk) (verifyKey, error) {
	if k.Kid == "" {
		return verifyKey{}, errors.New("missing kid")
	}
	if k.Alg != algEdDSA {
		return verifyKey{}, fmt.Errorf("kid %q: alg %q, want %q", k.Kid, k.Alg, algEdDSA)
	}
	x, err := base64.RawURLEncoding.Strict().DecodeString(k.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return verifyKey{}, fmt.Errorf("kid %q: x is not a base64url Ed25519 public key", k.Kid)
	}
	return verifyKey{alg: k.Alg, pub: ed25519.PublicKey(x)}, nil
}

// KeyIDs lists the usable kids, sorted.
func (j *JWKS) KeyIDs() []string {
	ids := make([]string, 0, len(j.keys))
	for kid := range j.keys {
		ids = append(ids, kid)
	}
	slices.Sort(ids)
	return ids
}

// publicJWK is the JWKS entry for an Ed25519 public key.
func publicJWK(kid string, pub ed25519.PublicKey) jwk {
	return jwk{
		Kty: "OKP", Crv: "Ed25519", Kid: kid, Alg: algEdDSA, Use: "sig",
		X: base64.RawURLEncoding.EncodeToString(pub),
	}
}
