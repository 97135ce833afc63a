package recommender

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
)

var (
	// ErrUnknownVersion means a candidate names no version of the model
	// root and no model folder.
	ErrUnknownVersion = errors.New("unknown model version")
	// ErrAlreadyCurrent means the candidate is the root's current version.
	ErrAlreadyCurrent = errors.New("already the current version")
)

// Candidate is a verified model that Promote can make a root's current
// version: one of the root's own versions, or a model from another folder
// (a canary root, a version folder) that Promote publishes into the root.
type Candidate struct {
	// Version is the candidate's signed version name.
	Version string
	// Source is the folder it was read from when it is not yet one of the
	// root's versions; empty when it is.
	Source string
	model  *Model
}

// OpenCandidate finds and fully verifies (signature and every file's
// sha256, as Load does) the candidate for root: a version name of
// root/versions, else a folder holding a model root or a version folder.
// A candidate outside root whose version root already holds counts as that
// version when both list the same files; otherwise it is ErrVersionExists.
func OpenCandidate(root, candidate string, pub ed25519.PublicKey) (*Candidate, error) {
	if ValidVersion(candidate) {
		folder := filepath.Join(root, VersionsDir, candidate)
		if _, err := os.Lstat(folder); err == nil {
			m, err := loadFolder(folder, candidate, pub)
			if err != nil {
				return nil, fmt.Errorf("candidate %s: %w", candidate, err)
			}
			return &Candidate{Version: candidate, model: m}, nil
		}
	}
	info, err := os.Stat(candidate)
	if err != nil || !info.IsDir() {
		return nil, fmt.Errorf("candidate %q: %w: no version of that name in %s and no such folder",
			clip(candidate), ErrUnknownVersion, root)
	}
	m, err := LoadVerified(candidate, pub)
	if err != nil {
		return nil, fmt.Errorf("candidate: %w", err)
	}
	return foreignCandidate(root, candidate, m, pub)
}

// foreignCandidate is m, read from source outside root, as a candidate.
func foreignCandidate(root, source string, m *Model, pub ed25519.PublicKey) (*Candidate, error) {
	v := m.Version()
	folder := filepath.Join(root, VersionsDir, v)
	if _, err := os.Lstat(folder); errors.Is(err, fs.ErrNotExist) {
		abs, err := filepath.Abs(source)
		if err != nil {
			return nil, fmt.Errorf("candidate: %w", err)
		}
		return &Candidate{Version: v, Source: abs, model: m}, nil
	}
	mine, err := loadFolder(folder, v, pub)
	if err != nil {
		return nil, fmt.Errorf("candidate: %s's own version %s: %w", root, v, err)
	}
	same, err := sameFiles(folder, source, pub)
	if err != nil {
		return nil, fmt.Errorf("candidate: %w", err)
	}
	if !same {
		return nil, fmt.Errorf("candidate: %w: %s holds a different model named %s", ErrVersionExists, root, v)
	}
	return &Candidate{Version: v, model: mine}, nil
}

// sameFiles reports whether the version folder and the (already verified)
// source list the same data files with the same sha256.
func sameFiles(folder, source string, pub ed25519.PublicKey) (bool, error) {
	a, err := readSignedMetadata(folder, pub)
	if err != nil {
		return false, err
	}
	srcFolder, _, err := resolveCurrent(source)
	if err != nil {
		return false, err
	}
	b, err := readSignedMetadata(srcFolder, pub)
	if err != nil {
		return false, err
	}
	return maps.Equal(a.Files, b.Files), nil
}

// Promote makes c root's current version and appends rec, completed with
// the time and the versions, to root's promotions log. A candidate from
// outside root is first published into root/versions, signed with the key
// opts name and with root's current version as its parent (so Rollback
// returns to it), then verified again with pub. The log line is written
// before current moves and taken back if the move fails: the log never
// misses a promotion nor names one that did not happen. On any error
// current is unchanged.
func Promote(root string, c *Candidate, rec Promotion, pub ed25519.PublicKey, opts SaveOptions) (Promotion, error) {
	from, err := CurrentVersion(root)
	if err != nil && !errors.Is(err, ErrNoCurrent) {
		return rec, fmt.Errorf("promote: %w", err)
	}
	if c.Version == from {
		return rec, fmt.Errorf("promote: %s: %w", c.Version, ErrAlreadyCurrent)
	}
	if c.Source != "" {
		if err := importCandidate(root, c, from, pub, opts); err != nil {
			return rec, fmt.Errorf("promote: %w", err)
		}
	}
	rec.From, rec.To, rec.Source = from, c.Version, c.Source
	if err := logPromotion(root, &rec, func() error { return pointCurrent(root, c.Version) }); err != nil {
		return rec, fmt.Errorf("promote: %w", err)
	}
	return rec, nil
}

// importCandidate publishes c's model as root/versions/<version>, parent
// from, without touching current, and verifies what it wrote.
func importCandidate(root string, c *Candidate, from string, pub ed25519.PublicKey, opts SaveOptions) error {
	key, err := opts.signingKey()
	if err != nil {
		return err
	}
	versions := filepath.Join(root, VersionsDir)
	if err := os.MkdirAll(versions, 0o755); err != nil {
		return err
	}
	meta := opts.meta(c.model)
	meta.Parent = from
	final := filepath.Join(versions, c.Version)
	if err := writeVersion(versions, final, c.model, meta, key); err != nil {
		return err
	}
	if _, err := loadFolder(final, c.Version, pub); err != nil {
		// Signed with a key pub does not match: never leave it to be served.
		os.RemoveAll(final)
		return fmt.Errorf("imported version %s does not verify: %w", c.Version, err)
	}
	return nil
}
