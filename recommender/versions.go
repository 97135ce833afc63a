package recommender

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// A model root holds every published version and a pointer to the served one:
//
//	root/versions/<version>/   one signed model folder per version
//	root/current               symlink to versions/<version>
//
// Publishing writes a new version folder and swaps current in one rename, so
// a server reloading root sees the old model or the new one, never a mix.
const (
	VersionsDir = "versions"
	CurrentLink = "current"
)

var (
	// ErrVersionExists means a version of that name was already published.
	ErrVersionExists = errors.New("model version already exists")
	// ErrNoParent means the current version has no parent to roll back to.
	ErrNoParent = errors.New("no parent version")
	// ErrNoCurrent means the model root has no current version.
	ErrNoCurrent = errors.New("no current model version")
)

// Publish writes m, signed, as a new version under root and points
// root/current at it. The version current pointed at before becomes the new
// version's parent, which Publish returns ("" for the first version).
func Publish(root string, m *Model, opts SaveOptions) (parent string, err error) {
	version := m.Version()
	if !ValidVersion(version) {
		return "", fmt.Errorf("publish model: %w: version %q is not a valid name", ErrInvalidConfig, clip(version))
	}
	key, err := opts.signingKey()
	if err != nil {
		return "", fmt.Errorf("publish model: %w", err)
	}
	versions := filepath.Join(root, VersionsDir)
	if err := os.MkdirAll(versions, 0o755); err != nil {
		return "", fmt.Errorf("publish model: %w", err)
	}
	if parent, err = CurrentVersion(root); err != nil && !errors.Is(err, ErrNoCurrent) {
		return "", fmt.Errorf("publish model: %w", err)
	}
	final := filepath.Join(versions, version)
	if _, err := os.Lstat(final); err == nil {
		return "", fmt.Errorf("publish model: %w: %s", ErrVersionExists, version)
	}
	meta := opts.meta(m)
	meta.Parent = parent
	if err := writeVersion(versions, final, m, meta, key); err != nil {
		return "", err
	}
	if err := pointCurrent(root, version); err != nil {
		return "", fmt.Errorf("publish model: %w", err)
	}
	return parent, nil
}

// writeVersion fills a hidden temporary folder and renames it to final.
func writeVersion(versions, final string, m *Model, meta Meta, key ed25519.PrivateKey) (err error) {
	tmp, err := os.MkdirTemp(versions, ".publish-*")
	if err != nil {
		return fmt.Errorf("publish model: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err = writeModelFiles(tmp, m, meta, key); err != nil {
		return err
	}
	if err = os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("publish model: %w", err)
	}
	if err = syncDir(tmp); err != nil {
		return fmt.Errorf("publish model: %w", err)
	}
	if err = os.Rename(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, errNotEmpty) {
			return fmt.Errorf("publish model: %w: %s", ErrVersionExists, filepath.Base(final))
		}
		return fmt.Errorf("publish model: %w", err)
	}
	return syncDir(versions)
}

// CurrentVersion returns the version root/current points at, ErrNoCurrent
// when there is no current link, and ErrBadArtifact when the link is not a
// plain "versions/<version>".
func CurrentVersion(root string) (string, error) {
	target, err := os.Readlink(filepath.Join(root, CurrentLink))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%w in %s", ErrNoCurrent, root)
	case err != nil:
		return "", fmt.Errorf("%w: %s: %w", ErrBadArtifact, CurrentLink, err)
	}
	dir, version := path.Split(filepath.ToSlash(target))
	if dir != VersionsDir+"/" || !ValidVersion(version) {
		return "", fmt.Errorf("%w: %s points at %q, want %s/<version>", ErrBadArtifact, CurrentLink, clip(target), VersionsDir)
	}
	return version, nil
}

// resolveCurrent returns the folder Load reads for dir and the version name
// it must hold: root/versions/<current>, or dir itself (any version) when
// dir has no current link.
func resolveCurrent(dir string) (folder, version string, err error) {
	version, err = CurrentVersion(dir)
	switch {
	case errors.Is(err, ErrNoCurrent):
		return dir, "", nil
	case err != nil:
		return "", "", err
	}
	return filepath.Join(dir, VersionsDir, version), version, nil
}

// pointCurrent swaps root/current to versions/<version> atomically: a new
// symlink under a temporary name renamed over the old one.
func pointCurrent(root, version string) error {
	tmp := filepath.Join(root, fmt.Sprintf(".%s.%d.tmp", CurrentLink, time.Now().UnixNano()))
	if err := os.Symlink(VersionsDir+"/"+version, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(root, CurrentLink)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(root)
}

// Rollback points root/current back at the current version's parent. It
// verifies the current version's signature (which vouches for the parent's
// name) and the whole parent folder before the swap; on any error current
// is unchanged.
func Rollback(root string, pub ed25519.PublicKey) (from, to string, err error) {
	from, err = CurrentVersion(root)
	if err != nil {
		return "", "", fmt.Errorf("rollback: %w", err)
	}
	md, err := readSignedMetadata(filepath.Join(root, VersionsDir, from), pub)
	if err != nil {
		return from, "", fmt.Errorf("rollback: current version %s: %w", from, err)
	}
	if md.Version != from {
		return from, "", fmt.Errorf("rollback: %w: folder %s holds version %q", ErrBadArtifact, from, md.Version)
	}
	if md.Parent == "" {
		return from, "", fmt.Errorf("rollback: %w: %s is the first version", ErrNoParent, from)
	}
	to = md.Parent
	if _, err := loadFolder(filepath.Join(root, VersionsDir, to), to, pub); err != nil {
		return from, to, fmt.Errorf("rollback: parent version %s: %w", to, err)
	}
	if err := pointCurrent(root, to); err != nil {
		return from, to, fmt.Errorf("rollback: %w", err)
	}
	return from, to, nil
}

// VersionInfo describes one published version.
type VersionInfo struct {
	Version string
	Parent  string
	Kind    Kind
	Created time.Time
	Current bool
	// Err is why the version's signature or metadata did not check; the
	// other fields are then empty. Files other than metadata are not read.
	Err error
}

// Versions lists root's published versions, oldest first, checking each
// one's metadata signature (not its data files: Load and Rollback do that).
func Versions(root string, pub ed25519.PublicKey) ([]VersionInfo, error) {
	entries, err := os.ReadDir(filepath.Join(root, VersionsDir))
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", err)
	}
	current, _ := CurrentVersion(root)
	var out []VersionInfo
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info := VersionInfo{Version: e.Name(), Current: e.Name() == current}
		md, err := readSignedMetadata(filepath.Join(root, VersionsDir, e.Name()), pub)
		switch {
		case err != nil:
			info.Err = err
		case md.Version != e.Name():
			info.Err = fmt.Errorf("%w: folder %s holds version %q", ErrBadArtifact, e.Name(), md.Version)
		default:
			info.Parent, info.Kind, info.Created = md.Parent, md.Algorithm, md.Created
		}
		out = append(out, info)
	}
	slices.SortStableFunc(out, func(a, b VersionInfo) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Version, b.Version)
	})
	return out, nil
}

// FreeVersion returns base, or base with the first free ".N" suffix, so two
// trainings within one second get distinct default versions.
func FreeVersion(root, base string) string {
	v := base
	for n := 2; ; n++ {
		if _, err := os.Lstat(filepath.Join(root, VersionsDir, v)); errors.Is(err, fs.ErrNotExist) {
			return v
		}
		v = fmt.Sprintf("%s.%d", base, n)
	}
}

// syncDir makes a directory's entries (a rename, a new file) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// errNotEmpty is what rename(2) reports when the target is a non-empty folder.
var errNotEmpty = syscall.ENOTEMPTY
