package recommender

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Key and signature files. A data folder's keys directory holds the model
// signing key pair; every model folder holds a SignatureFile over its
// metadata.json, which in turn holds the sha256 of every other file.
const (
	SigningKeyFile = "model.key" // PKCS#8 PEM, mode 0600
	VerifyKeyFile  = "model.pub" // PKIX PEM
	SignatureFile  = "signature" // base64url (no padding) Ed25519 signature
)

// signatureDomain separates model signatures from every other use of the key.
const signatureDomain = "reelguard-model/v1"

var (
	// ErrBadSignature means a model folder's signature is missing, malformed
	// or does not verify under the data folder's key.
	ErrBadSignature = errors.New("bad model signature")
	// ErrNoKey means the keys directory holds no model key.
	ErrNoKey = errors.New("no model signing key")
	// ErrBadKey means a key file is malformed or too widely readable.
	ErrBadKey = errors.New("bad model signing key")
)

// signedMessage is the byte string an artifact's signature covers: the
// domain, then metadata.json length-prefixed.
func signedMessage(metadataJSON []byte) []byte {
	msg := make([]byte, 0, len(signatureDomain)+1+8+len(metadataJSON))
	msg = append(msg, signatureDomain...)
	msg = append(msg, 0)
	msg = binary.BigEndian.AppendUint64(msg, uint64(len(metadataJSON)))
	return append(msg, metadataJSON...)
}

func signMetadata(key ed25519.PrivateKey, metadataJSON []byte) []byte {
	sig := ed25519.Sign(key, signedMessage(metadataJSON))
	return []byte(base64.RawURLEncoding.EncodeToString(sig) + "\n")
}

// verifyMetadata checks the signature file's contents against metadata.json.
func verifyMetadata(pub ed25519.PublicKey, metadataJSON, signature []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: no verify key", ErrBadSignature)
	}
	sig, err := base64.RawURLEncoding.DecodeString(string(bytes.TrimSuffix(signature, []byte("\n"))))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: %s is not a base64url Ed25519 signature", ErrBadSignature, SignatureFile)
	}
	if !ed25519.Verify(pub, signedMessage(metadataJSON), sig) {
		return fmt.Errorf("%w: %s does not verify %s", ErrBadSignature, SignatureFile, MetadataFile)
	}
	return nil
}

// EnsureSigningKey makes keysDir/model.key (0600, in a 0700 directory) and
// keysDir/model.pub unless the key already exists; it never overwrites a key.
// created reports whether a new key was made. Safe against a concurrent
// caller: one key wins and both callers use it.
func EnsureSigningKey(keysDir string) (created bool, err error) {
	if err := os.MkdirAll(keysDir, 0o700); err != nil {
		return false, fmt.Errorf("model key: %w", err)
	}
	keyPath := filepath.Join(keysDir, SigningKeyFile)
	if _, err := os.Lstat(keyPath); err == nil {
		return false, ensurePublicKey(keysDir)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return false, fmt.Errorf("model key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return false, fmt.Errorf("model key: %w", err)
	}
	created, err = writeNewFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	if err != nil {
		return false, fmt.Errorf("model key: %w", err)
	}
	return created, ensurePublicKey(keysDir)
}

// ensurePublicKey (re)derives model.pub from model.key, so a crash between
// the two writes heals on the next call.
func ensurePublicKey(keysDir string) error {
	priv, err := LoadSigningKey(keysDir)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return fmt.Errorf("model key: %w", err)
	}
	want := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pubPath := filepath.Join(keysDir, VerifyKeyFile)
	if have, err := os.ReadFile(pubPath); err == nil && bytes.Equal(have, want) {
		return nil
	}
	if err := writeFileAtomic(pubPath, want); err != nil {
		return fmt.Errorf("model key: %w", err)
	}
	return nil
}

// writeNewFile writes data to path with mode perm unless path exists: a
// synced temporary file is hard-linked into place, which fails rather than
// replaces. created is false when another writer got there first.
func writeNewFile(path string, data []byte, perm fs.FileMode) (created bool, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, syncDir(filepath.Dir(path))
}

// LoadSigningKey reads keysDir/model.key. It refuses a key file that group or
// others may read, as ssh does.
func LoadSigningKey(keysDir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(keysDir, SigningKeyFile)
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("model key: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v, want 0600", ErrBadKey, path, info.Mode().Perm())
	}
	der, err := pemBody(data, "PRIVATE KEY", path)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	priv, ok := k.(ed25519.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: %s is not an Ed25519 private key", ErrBadKey, path)
	}
	return priv, nil
}

// LoadVerifyKey reads keysDir/model.pub.
func LoadVerifyKey(keysDir string) (ed25519.PublicKey, error) {
	path := filepath.Join(keysDir, VerifyKeyFile)
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	der, err := pemBody(data, "PUBLIC KEY", path)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	pub, ok := k.(ed25519.PublicKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: %s is not an Ed25519 public key", ErrBadKey, path)
	}
	return pub, nil
}

func readKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoKey, path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("model key: %w", err)
	}
	return data, nil
}

// pemBody returns the one PEM block of type typ that data must consist of.
func pemBody(data []byte, typ, path string) ([]byte, error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != typ || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: %s is not one PEM %q block", ErrBadKey, path, typ)
	}
	return block.Bytes, nil
}
