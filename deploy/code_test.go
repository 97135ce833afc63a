package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// DESIGN.md's default ports; the code's defaults are checked against them
// in TestDesignPortsAreTheCodes.
const (
	gatewayPort     = "8443"
	adminPort       = "9090"
	recommenderPort = "8082"
	kafkaPort       = "9092"
)

// root is the repository root, relative to this package.
const root = ".."

var (
	envName    = regexp.MustCompile(`REELGUARD_[A-Z0-9_]+`)
	metricName = regexp.MustCompile(`reelguard_[a-z0-9_]+`)
	quotedName = regexp.MustCompile(`"(reelguard_[a-z0-9_]+)"`)
)

// goSources returns the non-test Go files under dirs (relative to the root),
// without descending into subfolders when flat is set.
func goSources(t testing.TB, flat bool, dirs ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && flat && path != filepath.Join(root, dir) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(path)
			out[path] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no Go sources under %v", dirs)
	}
	return out
}

// envRead returns the REELGUARD_* names a binary's sources (cmd/<bin>)
// mention: the variables it reads.
func envRead(t testing.TB, bin string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, b := range goSources(t, true, filepath.Join("cmd", bin)) {
		for _, n := range envName.FindAll(b, -1) {
			names[string(n)] = true
		}
	}
	return names
}

// registeredMetrics returns the reelguard_* names the gateway's admin
// listener exports: string literals in gateway/ and cmd/gateway/.
func registeredMetrics(t testing.TB) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	srcs := goSources(t, false, "gateway")
	for p, b := range goSources(t, true, filepath.Join("cmd", "gateway")) {
		srcs[p] = b
	}
	for _, b := range srcs {
		for _, m := range quotedName.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
	}
	return names
}

// unknownMetrics returns the reelguard_* names in expr that the gateway
// does not register; a histogram's _bucket, _sum and _count series count as
// its own.
func unknownMetrics(expr string, known map[string]bool) []string {
	var bad []string
	for _, name := range metricName.FindAllString(expr, -1) {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if s, ok := strings.CutSuffix(name, suffix); ok && known[s] {
				base = s
			}
		}
		if !known[base] && !slices.Contains(bad, name) {
			bad = append(bad, name)
		}
	}
	return bad
}

// readYAML decodes every document of a file inside the repository.
func readYAML(t testing.TB, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return docs
			}
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// m and l walk decoded YAML: a missing or mistyped node is empty.
func m(v any, keys ...string) map[string]any {
	for _, k := range keys {
		parent, _ := v.(map[string]any)
		if v = parent[k]; v == nil {
			return nil
		}
	}
	out, _ := v.(map[string]any)
	return out
}

func l(v any, key string) []any {
	out, _ := m(v)[key].([]any)
	return out
}

// s returns a scalar as text ("8443" for 8443), or "".
func s(v any, key string) string {
	switch x := m(v)[key].(type) {
	case nil, map[string]any, []any:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

// TestCodeAgrees checks that what the deployment files are checked against
// is the code's own: DESIGN.md's default ports, and the internal CA's
// folder in both binaries. A changed default fails here.
func TestCodeAgrees(t *testing.T) {
	cases := []struct {
		bin, want string
	}{
		{"gateway", `"internal-ca"`},
		{"recommender", `"internal-ca"`},
		{"gateway", `":` + gatewayPort + `"`},
		{"gateway", `"127.0.0.1:` + adminPort + `"`},
		{"gateway", `"127.0.0.1:` + recommenderPort + `"`},
		{"gateway", `"127.0.0.1:` + kafkaPort + `"`},
		{"recommender", `"127.0.0.1:` + recommenderPort + `"`},
		{"devbroker", `"127.0.0.1:` + kafkaPort + `"`},
	}
	for _, tc := range cases {
		found := false
		for _, b := range goSources(t, true, filepath.Join("cmd", tc.bin)) {
			found = found || bytes.Contains(b, []byte(tc.want))
		}
		if !found {
			t.Errorf("cmd/%s has no %s: the deployment's assumption and the code differ", tc.bin, tc.want)
		}
	}
}
