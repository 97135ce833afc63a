package policy

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Seed copies the embedded default policy into dir when dir holds no .rego
// file at any depth, creating dir as needed. It never overwrites an
// operator's policy; created reports whether it wrote anything.
func Seed(dir string) (created bool, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("seed policy: %w", err)
	}
	existing, err := readSource(os.DirFS(dir), dir)
	if err != nil {
		return false, fmt.Errorf("seed policy: %w", err)
	}
	if len(existing.Files) > 0 {
		return false, nil
	}
	defaults, err := defaultSource()
	if err != nil {
		return false, fmt.Errorf("seed policy: %w", err)
	}
	for _, f := range defaults.Files {
		if err := writeSeedFile(dir, f); err != nil {
			return true, fmt.Errorf("seed policy: %w", err)
		}
	}
	return true, nil
}

// defaultSource is the embedded default policy.
func defaultSource() (source, error) {
	sub, err := fs.Sub(embedded, embeddedDir)
	if err != nil {
		return source{}, err
	}
	return readSource(sub, embeddedDir)
}

func writeSeedFile(dir string, f policyFile) error {
	name := filepath.Join(dir, filepath.FromSlash(f.Name))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	// O_EXCL: a file that appeared meanwhile is the operator's, not ours.
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := out.Write(f.Data); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
