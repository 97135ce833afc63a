package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// File names inside the keys directory ($REELGUARD_DATA/keys).
const (
	PrivateKeyFile = "jwt.key"   // Ed25519 private JWK (with "d"), mode 0600
	JWKSFile       = "jwks.json" // public JWKS, mode 0644
)

// EnsureKeys makes the dev token key pair in dir (created 0700 when absent):
// jwt.key, the private key as a JWK, and jwks.json, the public JWKS. It does
// nothing when jwt.key and jwks.json exist (created=false), nor when only
// jwks.json exists: that JWKS then comes from elsewhere and is not ours to
// replace. A missing jwks.json is rebuilt from an existing jwt.key.
func EnsureKeys(dir string) (created bool, err error) {
	keyPath, jwksPath := filepath.Join(dir, PrivateKeyFile), filepath.Join(dir, JWKSFile)
	haveJWKS, err := exists(jwksPath)
	if err != nil || haveJWKS {
		return false, wrapEnsure(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, wrapEnsure(err)
	}
	haveKey, err := exists(keyPath)
	if err != nil {
		return false, wrapEnsure(err)
	}
	if !haveKey {
		if created, err = writeNewPrivateKey(keyPath); err != nil {
			return false, wrapEnsure(err)
		}
	}
	// Derive the JWKS from the key on disk: if another process won the race
	// to create jwt.key, its key is the one to publish.
	s, err := LoadSigner(dir)
	if err != nil {
		return created, wrapEnsure(err)
	}
	data, err := json.MarshalIndent(jwkSet{Keys: []jwk{publicJWK(s.kid, s.key.Public().(ed25519.PublicKey))}}, "", "  ")
	if err != nil {
		return created, wrapEnsure(err)
	}
	wrote, err := writeFileExclusive(jwksPath, append(data, '\n'), 0o644)
	return created || wrote, wrapEnsure(err)
}

func wrapEnsure(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("ensure jwt keys: %w", err)
}

func writeNewPrivateKey(path string) (bool, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return false, err
	}
	k := publicJWK(KeyID(pub), pub)
	k.D = base64.RawURLEncoding.EncodeToString(priv.Seed())
	data, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return false, err
	}
	return writeFileExclusive(path, append(data, '\n'), 0o600)
}

// KeyID is the kid for an Ed25519 public key: base64url of the first 8 bytes
// of its SHA-256, stable across restarts and distinct per key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}
