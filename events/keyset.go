package events

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// File names inside $REELGUARD_DATA/keys.
const (
	PrivateKeyFile = "events.key"
	KeysetFile     = "events-keyset.json"
)

// Key statuses in a keyset.
const (
	StatusActive     = "active"      // signs and verifies
	StatusVerifyOnly = "verify-only" // still verifies records signed before a rotation
	StatusRevoked    = "revoked"     // records signed with it are rejected
)

// KeyEntry is one key of a keyset file, and the shape of events.key (which
// leaves Status out). Key is base64url: the Ed25519 public key (or seed, in
// events.key) for EdDSA, the secret for HS256.
type KeyEntry struct {
	Kid    string `json:"kid"`
	Alg    string `json:"alg"`
	Key    string `json:"key"`
	Status string `json:"status,omitempty"`
}

// LogValue keeps HMAC secrets and private seeds out of logs.
func (e KeyEntry) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", e.Kid), slog.String("alg", e.Alg), slog.String("status", e.Status))
}

// Keyset is the set of keys a Verifier trusts, each bound to one algorithm.
type Keyset struct {
	keys map[string]verifyKey
}

type verifyKey struct {
	alg    string
	status string
	pub    ed25519.PublicKey
	secret []byte
}

type keysetFile struct {
	Keys []KeyEntry `json:"keys"`
}

// NewKeyset builds a keyset from entries (Signer.VerifyKey gives one).
func NewKeyset(entries ...KeyEntry) (*Keyset, error) {
	ks := &Keyset{keys: make(map[string]verifyKey, len(entries))}
	for i, e := range entries {
		k, err := parseKeyEntry(e)
		if err != nil {
			return nil, fmt.Errorf("keyset entry %d: %w", i+1, err)
		}
		if _, dup := ks.keys[e.Kid]; dup {
			return nil, fmt.Errorf("keyset entry %d: duplicate kid %q", i+1, e.Kid)
		}
		ks.keys[e.Kid] = k
	}
	return ks, nil
}

// ParseKeyset decodes keyset JSON strictly (unknown fields are errors).
func ParseKeyset(data []byte) (*Keyset, error) {
	var f keysetFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode keyset: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode keyset: trailing data")
	}
	return NewKeyset(f.Keys...)
}

// LoadKeyset reads a keyset file. A file holding HS256 secrets must not be
// readable by group or others.
func LoadKeyset(path string) (*Keyset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load keyset: %w", err)
	}
	ks, err := ParseKeyset(data)
	if err != nil {
		return nil, fmt.Errorf("load keyset %s: %w", path, err)
	}
	if ks.hasSecrets() {
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("load keyset: %w", err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("load keyset %s: holds HS256 secrets but has mode %v, want 0600", path, info.Mode().Perm())
		}
	}
	return ks, nil
}

func (ks *Keyset) hasSecrets() bool {
	for _, k := range ks.keys {
		if k.alg == AlgHS256 {
			return true
		}
	}
	return false
}

func parseKeyEntry(e KeyEntry) (verifyKey, error) {
	if err := checkKid(e.Kid); err != nil {
		return verifyKey{}, err
	}
	switch e.Status {
	case StatusActive, StatusVerifyOnly, StatusRevoked:
	default:
		return verifyKey{}, fmt.Errorf("kid %q: status %q is not active, verify-only or revoked", e.Kid, e.Status)
	}
	raw, err := b64.DecodeString(e.Key)
	if err != nil {
		return verifyKey{}, fmt.Errorf("kid %q: key is not base64url: %w", e.Kid, err)
	}
	k := verifyKey{alg: e.Alg, status: e.Status}
	switch e.Alg {
	case AlgEdDSA:
		if len(raw) != ed25519.PublicKeySize {
			return verifyKey{}, fmt.Errorf("kid %q: ed25519 public key must be %d bytes", e.Kid, ed25519.PublicKeySize)
		}
		k.pub = ed25519.PublicKey(raw)
	case AlgHS256:
		if len(raw) < minHMACKeyLen {
			return verifyKey{}, fmt.Errorf("kid %q: hmac secret must be at least %d bytes", e.Kid, minHMACKeyLen)
		}
		k.secret = raw
	default:
		return verifyKey{}, fmt.Errorf("kid %q: unsupported alg %q", e.Kid, e.Alg)
	}
	return k, nil
}

// EnsureKeys makes an Ed25519 event-signing key in dir ($REELGUARD_DATA/keys)
// when it has none: events.key (0600) and the public events-keyset.json;
// and the request log's HMAC key, requestlog.key (0600).
// A keyset missing beside an existing key is rewritten from the key. Safe
// when several processes start at once: the first key written wins.
func EnsureKeys(dir string) (created bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("ensure event keys: %w", err)
	}
	keyPath := filepath.Join(dir, PrivateKeyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		if err := writeNewKey(keyPath); err != nil {
			return false, fmt.Errorf("ensure event keys: %w", err)
		}
		created = true
	} else if err != nil {
		return false, fmt.Errorf("ensure event keys: %w", err)
	}
	if made, err := ensureRequestLogKey(dir); err != nil {
		return false, fmt.Errorf("ensure request-log key: %w", err)
	} else if made {
		created = true
	}
	setPath := filepath.Join(dir, KeysetFile)
	if _, err := os.Stat(setPath); err == nil {
		return created, nil
	}
	s, err := LoadSigner(dir)
	if err != nil {
		return false, fmt.Errorf("ensure event keys: %w", err)
	}
	data, err := json.MarshalIndent(keysetFile{Keys: []KeyEntry{s.VerifyKey()}}, "", "  ")
	if err != nil {
		return false, fmt.Errorf("ensure event keys: %w", err)
	}
	if err := writeAtomic(setPath, append(data, '\n'), 0o644, true); err != nil {
		return false, fmt.Errorf("ensure event keys: %w", err)
	}
	return true, nil
}

// writeNewKey writes a fresh Ed25519 seed to path unless another process
// got there first.
func writeNewKey(path string) error {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return err
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	entry := KeyEntry{Kid: "events-" + hex.EncodeToString(sum[:6]), Alg: AlgEdDSA, Key: b64.EncodeToString(seed)}
	data, err := json.MarshalIndent(entry, "", "  ")
	if err != nil {
		return err
	}
	err = writeAtomic(path, append(data, '\n'), 0o600, false)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}

// writeAtomic writes data to a temporary file in path's folder and then
// renames it into place (replace) or hard-links it (no replace, failing
// with fs.ErrExist when path exists).
func writeAtomic(path string, data []byte, mode os.FileMode, replace bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if replace {
		return os.Rename(tmp, path)
	}
	return os.Link(tmp, path)
}

// LoadSigner reads dir/events.key.
func LoadSigner(dir string) (*Signer, error) {
	return loadSignerFile(filepath.Join(dir, PrivateKeyFile))
}

// loadSignerFile reads one KeyEntry file and makes its Signer.
func loadSignerFile(path string) (*Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load event signer: %w", err)
	}
	var e KeyEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("load event signer %s: %w", path, err)
	}
	raw, err := b64.DecodeString(e.Key)
	if err != nil {
		return nil, fmt.Errorf("load event signer %s: key is not base64url", path)
	}
	s, err := NewSigner(e.Kid, e.Alg, raw)
	if err != nil {
		return nil, fmt.Errorf("load event signer %s: %w", path, err)
	}
	return s, nil
}

// with is a copy of ks with entries added.
func (ks *Keyset) with(entries ...KeyEntry) (*Keyset, error) {
	out := &Keyset{keys: make(map[string]verifyKey, len(ks.keys)+len(entries))}
	for kid, k := range ks.keys {
		out.keys[kid] = k
	}
	for _, e := range entries {
		k, err := parseKeyEntry(e)
		if err != nil {
			return nil, fmt.Errorf("keyset: %w", err)
		}
		if _, dup := out.keys[e.Kid]; dup {
			return nil, fmt.Errorf("keyset: duplicate kid %q", e.Kid)
		}
		out.keys[e.Kid] = k
	}
	return out, nil
}
