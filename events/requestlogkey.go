package events

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// RequestLogKeyFile holds the HMAC-SHA256 key that signs the gateway's
// request log (topic recommendations), in $REELGUARD_DATA/keys with mode
// 0600. DESIGN.md allows HMAC for a high-rate topic whose consumers are
// trusted: at the gateway's request rate, Ed25519 signing was the largest
// single cost after TLS (BENCHMARKS.md). Verifiers of that topic need the
// secret, so it stays out of the public keyset file.
const RequestLogKeyFile = "requestlog.key"

// RequestLogTopic is the topic RequestLogKeyFile signs.
const RequestLogTopic = "recommendations"

// ensureRequestLogKey writes a fresh request-log key unless one exists;
// the first of several processes starting at once wins.
func ensureRequestLogKey(dir string) (created bool, err error) {
	path := filepath.Join(dir, RequestLogKeyFile)
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	secret := make([]byte, minHMACKeyLen)
	id := make([]byte, 6)
	if _, err := rand.Read(secret); err != nil {
		return false, err
	}
	if _, err := rand.Read(id); err != nil {
		return false, err
	}
	entry := KeyEntry{Kid: "requestlog-" + hex.EncodeToString(id), Alg: AlgHS256, Key: b64.EncodeToString(secret)}
	data, err := json.MarshalIndent(entry, "", "  ")
	if err != nil {
		return false, err
	}
	err = writeAtomic(path, append(data, '\n'), 0o600, false)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

// LoadRequestLogSigner reads dir/requestlog.key, refusing a file that
// group or others may read.
func LoadRequestLogSigner(dir string) (*Signer, error) {
	path := filepath.Join(dir, RequestLogKeyFile)
	if err := checkPrivate(path); err != nil {
		return nil, fmt.Errorf("load request-log signer: %w", err)
	}
	return loadSignerFile(path)
}

// LoadVerifyKeyset is the keyset that verifies every topic: the public
// keyset file of dir plus, when present, the request-log key.
func LoadVerifyKeyset(dir string) (*Keyset, error) {
	ks, err := LoadKeyset(filepath.Join(dir, KeysetFile))
	if err != nil {
		return nil, err
	}
	s, err := LoadRequestLogSigner(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return ks, nil
	}
	if err != nil {
		return nil, err
	}
	return ks.with(s.VerifyKey())
}

func checkPrivate(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s holds a secret but has mode %v, want 0600", path, info.Mode().Perm())
	}
	return nil
}
