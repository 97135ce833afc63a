package policy

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestSeed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "policy") // parents absent too
	created, err := Seed(dir)
	if err != nil || !created {
		t.Fatalf("Seed(empty) = %v, %v; want created", created, err)
	}
	defaults, err := defaultSource()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range defaults.Files {
		got, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s not seeded verbatim: %v", f.Name, err)
		}
	}
	if err := Check(context.Background(), dir); err != nil {
		t.Fatalf("seeded policy fails the gate: %v", err)
	}

	// Idempotent: an operator's edit survives a second Seed.
	writeFile(t, dir, "authz.rego", minimalPolicy)
	if created, err := Seed(dir); err != nil || created {
		t.Fatalf("second Seed = %v, %v; want nothing created", created, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "authz.rego")); string(got) != minimalPolicy {
		t.Fatal("second Seed overwrote the operator's authz.rego")
	}
}

func TestSeedRespectsNestedPolicy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "team/authz.rego", minimalPolicy)
	if created, err := Seed(dir); err != nil || created {
		t.Fatalf("Seed over a nested policy = %v, %v; want nothing created", created, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "authz.rego")); !os.IsNotExist(err) {
		t.Fatalf("Seed wrote beside an existing nested policy: %v", err)
	}
}

func TestSeedIgnoresHiddenRego(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, ".git/old.rego", minimalPolicy)
	if created, err := Seed(dir); err != nil || !created {
		t.Fatalf("Seed with only hidden rego = %v, %v; want created", created, err)
	}
}
