package reelguard_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/reelguard/reelguard/"

// allowed are DESIGN.md's import arrows: for each part, the parts of this
// project it may import. A folder's subpackages may import each other.
// cmd/ and e2e/ (wiring and end-to-end tests) may import anything.
var allowed = map[string][]string{
	"auth":        nil,
	"policy":      nil,
	"anomaly":     nil,
	"certs":       nil,
	"events":      nil,
	"recommender": nil,
	"gateway":     {"auth", "policy", "anomaly", "events", "certs"},
	// deploy's checks and container helpers (the mTLS health probe, the
	// key installer) read key file names and the mTLS setup from the code.
	"deploy": {"auth", "events", "certs"},
}

var unrestricted = map[string]bool{"cmd": true, "e2e": true}

func TestImportArrows(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || !strings.Contains(path, "/") {
			return nil
		}
		part := strings.SplitN(filepath.ToSlash(path), "/", 2)[0]
		if unrestricted[part] {
			return nil
		}
		may, known := allowed[part]
		if !known {
			t.Errorf("%s: folder %q is not a part DESIGN.md names; add it to allowed", path, part)
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			target, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(target, module) {
				continue
			}
			top := strings.SplitN(strings.TrimPrefix(target, module), "/", 2)[0]
			if top != part && !slices.Contains(may, top) {
				t.Errorf("%s imports %s: %s may import only %v", path, target, part, may)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
