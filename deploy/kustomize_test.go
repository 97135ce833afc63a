package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/certs"
	"github.com/reelguard/reelguard/events"
)

// makeKeys writes a data folder's keys as `gateway keys` does.
func makeKeys(t *testing.T, data string) {
	t.Helper()
	for _, step := range []struct {
		dir    string
		ensure func(string) (bool, error)
	}{
		{"keys", auth.EnsureKeys}, {"keys", events.EnsureKeys}, {"ca", certs.EnsureCA},
		{internalCADir, certs.EnsureInternalCA},
	} {
		if _, err := step.ensure(filepath.Join(data, step.dir)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKustomizeBuild builds the base with kubectl's kustomize (offline) when
// kubectl is installed, with fresh keys in secrets/, and checks that every
// Deployment's secret volumes name a Secret of the output.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: the manifests are still checked by the other tests")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", kustomizeFiles(t))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, stderr.String())
	}
	secrets, refs := map[string]bool{}, map[string]bool{}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		switch s(doc, "kind") {
		case "Secret":
			secrets[s(m(doc, "metadata"), "name")] = true
		case "Deployment":
			for _, v := range l(m(doc, "spec", "template", "spec"), "volumes") {
				if sec := m(v, "secret"); sec != nil {
					refs[s(sec, "secretName")] = true
				}
			}
		}
	}
	if len(refs) < 2 {
		t.Fatalf("the built Deployments use secrets %v, want the gateway's and the recommender's", refs)
	}
	for name := range refs {
		if !secrets[name] || !strings.Contains(name, "-keys-") { // kustomize appends a content hash
			t.Errorf("a Deployment mounts secret %q, not one kustomize generated (%v)", name, secrets)
		}
	}
}

// kustomizeFiles copies deploy/k8s to a temporary folder with real key files
// in secrets/, made by the code `gateway keys` runs.
func kustomizeFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(root, "deploy/k8s")
	files, _ := filepath.Glob(filepath.Join(src, "*.yaml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	makeKeys(t, filepath.Join(dir, "data"))
	if err := os.Mkdir(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, dataPath := range keyFiles {
		if err := os.Rename(filepath.Join(dir, "data", dataPath), filepath.Join(dir, "secrets", name)); err != nil {
			t.Fatalf("`gateway keys` makes no %s: %v", dataPath, err)
		}
	}
	return dir
}
