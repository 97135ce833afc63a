// Command installkeys copies the key files of a Kubernetes Secret volume
// into a data folder, where the binaries look for them. A Secret volume's
// files are owned by root and readable by the pod's group, and the
// binaries refuse a secret that group or others may read; so an init
// container copies them, owned by the pod's user with mode 0600 in 0700
// folders, into the pod's data folder.
//
//	installkeys SECRET_DIR DATA_DIR
//
// SECRET_DIR holds the files flat, under the names deploy/k8s's
// secretGenerator gives them (the file names `gateway keys` writes; the
// internal CA's as internal-ca.pem and internal-ca.key). A name it does not
// know is an error, as is a volume with no key at all.
package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/certs"
	"github.com/reelguard/reelguard/events"
)

// layout maps a Secret's file names to paths in a data folder.
var layout = map[string]string{
	auth.PrivateKeyFile:      filepath.Join("keys", auth.PrivateKeyFile),
	auth.JWKSFile:            filepath.Join("keys", auth.JWKSFile),
	events.PrivateKeyFile:    filepath.Join("keys", events.PrivateKeyFile),
	events.KeysetFile:        filepath.Join("keys", events.KeysetFile),
	events.RequestLogKeyFile: filepath.Join("keys", events.RequestLogKeyFile),
	certs.CACertFile:         filepath.Join("ca", certs.CACertFile),
	certs.CAKeyFile:          filepath.Join("ca", certs.CAKeyFile),
	"internal-ca.pem":        filepath.Join("keys", "internal-ca", certs.CACertFile),
	"internal-ca.key":        filepath.Join("keys", "internal-ca", certs.CAKeyFile),
}

var (
	errUnknownFile = errors.New("not a key file installkeys knows")
	errNoKeys      = errors.New("no key files")
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: installkeys SECRET_DIR DATA_DIR")
		os.Exit(2)
	}
	n, err := install(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "installkeys:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "installkeys: %d key files in %s\n", n, os.Args[2])
}

// install copies every key file of src into data's layout and returns how
// many it copied. Entries starting with "." are the Secret volume's own
// bookkeeping (..data and its timestamped folders) and are skipped.
func install(src, data string) (int, error) {
	entries, err := os.ReadDir(src)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		rel, ok := layout[e.Name()]
		if !ok {
			return n, fmt.Errorf("%s: %w (known: %s)", e.Name(), errUnknownFile, strings.Join(slices.Sorted(maps.Keys(layout)), ", "))
		}
		if err := copyKey(filepath.Join(src, e.Name()), filepath.Join(data, rel)); err != nil {
			return n, err
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("%s: %w", src, errNoKeys)
	}
	return n, nil
}

// copyKey writes src's bytes to dst with mode 0600, atomically.
func copyKey(src, dst string) error {
	b, err := os.ReadFile(src) // follows the volume's symlinks
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".install-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
