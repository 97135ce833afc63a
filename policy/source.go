package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// dataFileName is the name of data documents, as in an OPA bundle: a
// data.json in folder a/b is mounted at data.a.b.
const dataFileName = "data.json"

// policyFile is one module or data document of a policy folder.
type policyFile struct {
	Name string // slash-separated, relative to the folder
	Data []byte
}

// isTest reports whether f holds Rego tests rather than policy.
func (f policyFile) isTest() bool { return strings.HasSuffix(f.Name, "_test.rego") }

// isData reports whether f is a data document rather than Rego.
func (f policyFile) isData() bool { return path.Base(f.Name) == dataFileName }

// isPolicyName reports whether name (slash-separated, relative) is a file
// the policy loads: a .rego module or a data.json, none of its parts hidden.
func isPolicyName(name string) bool {
	for part := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	return strings.HasSuffix(name, ".rego") || path.Base(name) == dataFileName
}

// source is the set of files read from one folder, sorted by name.
type source struct {
	Root  string // names the folder in errors
	Files []policyFile
}

// readSource reads every .rego and data.json file of fsys at any depth,
// skipping hidden files and folders: editors' lock files and Kubernetes'
// ..data links would otherwise be loaded twice or half-written.
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
		if d.IsDir() || !isPolicyName(name) {
			return nil
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		src.Files = append(src.Files, policyFile{Name: name, Data: data})
		return nil
	})
	if err != nil {
		return source{}, fmt.Errorf("read policy %s: %w", root, err)
	}
	src.sort()
	return src, nil
}

func (s *source) sort() {
	slices.SortFunc(s.Files, func(a, b policyFile) int { return strings.Compare(a.Name, b.Name) })
}

// with returns a copy of s in which files replace (or add) the same names;
// a nil content removes the file.
func (s source) with(files map[string][]byte) source {
	out := source{Root: s.Root}
	for _, f := range s.Files {
		if _, replaced := files[f.Name]; !replaced {
			out.Files = append(out.Files, f)
		}
	}
	for name, data := range files {
		if data != nil {
			out.Files = append(out.Files, policyFile{Name: name, Data: data})
		}
	}
	out.sort()
	return out
}

// filename is how errors name f: the folder joined with its relative name.
func (s source) filename(f policyFile) string {
	return filepath.Join(s.Root, filepath.FromSlash(f.Name))
}

// regoCount is the number of Rego modules, tests included.
func (s source) regoCount() int {
	n := 0
	for _, f := range s.Files {
		if !f.isData() {
			n++
		}
	}
	return n
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

// data merges the data.json documents into one tree, each mounted at its
// folder's path. Two documents that set the same leaf are an error.
func (s source) data() (map[string]any, error) {
	root := map[string]any{}
	for _, f := range s.Files {
		if !f.isData() {
			continue
		}
		doc, err := decodeDataDoc(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCompile, s.filename(f), err)
		}
		var mount []string
		if dir := path.Dir(f.Name); dir != "." {
			mount = strings.Split(dir, "/")
		}
		if err := mergeAt(root, mount, doc); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCompile, s.filename(f), err)
		}
	}
	return root, nil
}

// decodeDataDoc reads one data.json: a single JSON object, numbers kept
// exact.
func decodeDataDoc(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("data document: %w", err)
	}
	if doc == nil {
		return nil, fmt.Errorf("data document is not an object")
	}
	if dec.More() {
		return nil, fmt.Errorf("data document: trailing content")
	}
	return doc, nil
}

// mergeAt merges doc into root under the keys of mount.
func mergeAt(root map[string]any, mount []string, doc map[string]any) error {
	node := root
	for _, key := range mount {
		child, ok := node[key].(map[string]any)
		if !ok {
			if _, taken := node[key]; taken {
				return fmt.Errorf("data path %s is not an object", strings.Join(mount, "."))
			}
			child = map[string]any{}
			node[key] = child
		}
		node = child
	}
	return mergeObjects(node, doc, strings.Join(mount, "."))
}

func mergeObjects(dst, src map[string]any, at string) error {
	for k, v := range src {
		where := strings.TrimPrefix(at+"."+k, ".")
		existing, taken := dst[k]
		if !taken {
			dst[k] = v
			continue
		}
		a, aok := existing.(map[string]any)
		b, bok := v.(map[string]any)
		if !aok || !bok {
			return fmt.Errorf("data path %s is set twice", where)
		}
		if err := mergeObjects(a, b, where); err != nil {
			return err
		}
	}
	return nil
}
