package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// regoFile is one module of a policy folder.
type regoFile struct {
	Name string // slash-separated, relative to the folder
	Data []byte
}

// isTest reports whether f holds Rego tests rather than policy.
func (f regoFile) isTest() bool { return strings.HasSuffix(f.Name, "_test.rego") }

// source is the set of modules read from one folder, sorted by name.
type source struct {
	Root  string // names the folder in errors
	Files []regoFile
}

// readSource reads every .rego file of fsys at any depth, skipping hidden
// files and folders: editors' lock files and Kubernetes' ..data links
// would otherwise be loaded twice or half-written.
func readSource(fsys fs.FS, root string) (source, error) {
	src := source{Root: root}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(name, ".rego") {
			return nil
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		src.Files = append(src.Files, regoFile{Name: name, Data: data})
		return nil
	})
	if err != nil {
		return source{}, fmt.Errorf("read policy %s: %w", root, err)
	}
	slices.SortFunc(src.Files, func(a, b regoFile) int { return strings.Compare(a.Name, b.Name) })
	return src, nil
}

// filename is how errors name f: the folder joined with its relative name.
func (s source) filename(f regoFile) string {
	return filepath.Join(s.Root, filepath.FromSlash(f.Name))
}

// revision is a short digest of the file names and contents, so two
// replicas (or a reload) can tell whether they run the same policy.
func (s source) revision() string {
	h := sha256.New()
	var n [8]byte
	for _, f := range s.Files {
		for _, part := range [][]byte{[]byte(f.Name), f.Data} {
			binary.BigEndian.PutUint64(n[:], uint64(len(part)))
			h.Write(n[:])
			h.Write(part)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
