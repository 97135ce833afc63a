package policy

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestEmbeddedRegoTests runs every Rego test of the embedded default policy
// and names each failure.
func TestEmbeddedRegoTests(t *testing.T) {
	src, err := defaultSource()
	if err != nil {
		t.Fatal(err)
	}
	caps := capabilities()
	modules, err := parseModules(src, caps)
	if err != nil {
		t.Fatal(err)
	}
	data, err := src.data()
	if err != nil {
		t.Fatal(err)
	}
	ch, err := tester.NewRunner().
		SetCompiler(newCompiler(caps)).
		SetStore(inmem.NewFromObject(data)).
		SetDefaultRegoVersion(ast.RegoV1).
		SetModules(modules).
		RunTests(context.Background(), nil)
	if err != nil {
		t.Fatalf("compile rego tests: %v", err)
	}
	var ran int
	for r := range ch {
		ran++
		if !r.Pass() {
			t.Errorf("%s", describeFailure(r))
		}
	}
	if ran < 10 {
		t.Errorf("ran %d rego tests, want the default suite (at least 10)", ran)
	}
}

func TestDefaultPolicyPassesGate(t *testing.T) {
	src, err := defaultSource()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gate(context.Background(), src); err != nil {
		t.Fatalf("default policy rejected by its own gate: %v", err)
	}
}
