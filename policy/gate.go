package policy

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// deniedBuiltins would let a policy edit reach the network or read the
// gateway's environment; a policy decides from its input alone.
var deniedBuiltins = []string{"http.send", "net.lookup_ip_addr", "opa.runtime"}

// smokeInput is evaluated once per load: any sane policy decides it.
var smokeInput = Input{
	Principal: Principal{Sub: "42", Role: "user", ClientIP: "192.0.2.1"},
	Method:    "GET",
	Path:      []string{"recommend", "42"},
}

// Check is the edit gate without replay: it loads every .rego and
// data.json file under dir (any depth, hidden files and folders skipped),
// compiles the modules strictly as Rego v1, requires package
// reelguard.authz to define decision, runs the Rego tests (there must be at
// least one and all must pass) and evaluates decision once. Errors wrap
// ErrNoModules, ErrCompile, ErrNoDecision, ErrNoTests, ErrTestsFailed or
// ErrBadDecision and name the file or test at fault. Diff adds the replay.
func Check(ctx context.Context, dir string) error {
	src, err := readSource(os.DirFS(dir), dir)
	if err != nil {
		return err
	}
	_, err = gate(ctx, src)
	return err
}

// gate runs every check of Check on src and returns the prepared policy.
func gate(ctx context.Context, src source) (*prepared, error) {
	if src.regoCount() == 0 {
		return nil, fmt.Errorf("policy %s: %w", src.Root, ErrNoModules)
	}
	caps := capabilities()
	modules, err := parseModules(src, caps)
	if err != nil {
		return nil, err
	}
	data, err := src.data()
	if err != nil {
		return nil, err
	}
	compiler, err := compilePolicy(modules, caps)
	if err != nil {
		return nil, err
	}
	if len(compiler.GetRules(ast.MustParseRef(decisionQuery))) == 0 {
		return nil, fmt.Errorf("policy %s: %w", src.Root, ErrNoDecision)
	}
	if err := checkDataOverlap(compiler, data); err != nil {
		return nil, fmt.Errorf("policy %s: %w", src.Root, err)
	}
	if err := runTests(ctx, modules, data, caps); err != nil {
		return nil, fmt.Errorf("policy %s: %w", src.Root, err)
	}
	p, err := prepare(ctx, compiler, data)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", src.Root, err)
	}
	p.revision, p.files = src.revision(), len(src.Files)
	if _, err := p.decide(ctx, smokeInput); err != nil {
		return nil, fmt.Errorf("policy %s: smoke evaluation: %w", src.Root, err)
	}
	return p, nil
}

// checkDataOverlap rejects data documents that sit where a Rego package
// is: OPA would merge or shadow the two silently.
func checkDataOverlap(compiler *ast.Compiler, data map[string]any) error {
	for _, m := range compiler.Modules {
		node := any(data)
		for _, t := range m.Package.Path[1:] {
			key, ok := t.Value.(ast.String)
			obj, isObj := node.(map[string]any)
			if !ok || !isObj {
				node = nil
				break
			}
			node = obj[string(key)]
		}
		if node != nil {
			return fmt.Errorf("%w: data overlaps package %s", ErrCompile, m.Package.Path)
		}
	}
	return nil
}

// parseModules parses each Rego file as v1, keyed by its full file name.
func parseModules(src source, caps *ast.Capabilities) (map[string]*ast.Module, error) {
	modules := make(map[string]*ast.Module, len(src.Files))
	opts := ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: caps}
	for _, f := range src.Files {
		if f.isData() {
			continue
		}
		name := src.filename(f)
		m, err := ast.ParseModuleWithOpts(name, string(f.Data), opts)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCompile, err)
		}
		modules[name] = m
	}
	return modules, nil
}

// compilePolicy compiles the modules that are not tests: tests never take
// part in a decision, and policy that only compiles with them is rejected.
func compilePolicy(modules map[string]*ast.Module, caps *ast.Capabilities) (*ast.Compiler, error) {
	policy := make(map[string]*ast.Module, len(modules))
	for name, m := range modules {
		if !strings.HasSuffix(name, "_test.rego") {
			policy[name] = m
		}
	}
	c := newCompiler(caps).WithStrict(true)
	if c.Compile(policy); c.Failed() {
		return nil, fmt.Errorf("%w: %w", ErrCompile, c.Errors)
	}
	return c, nil
}

func newCompiler(caps *ast.Capabilities) *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(caps).
		WithDefaultRegoVersion(ast.RegoV1)
}

// capabilities are this OPA's builtins less deniedBuiltins.
func capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool {
		return slices.Contains(deniedBuiltins, b.Name)
	})
	return caps
}

// runTests runs the test_ rules of all modules and lists every failure.
func runTests(ctx context.Context, modules map[string]*ast.Module, data map[string]any, caps *ast.Capabilities) error {
	runner := tester.NewRunner().
		SetCompiler(newCompiler(caps).WithEnablePrintStatements(true)).
		SetDefaultRegoVersion(ast.RegoV1).
		SetStore(inmem.NewFromObject(data)).
		SetModules(modules)
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCompile, err)
	}
	var ran int
	var failures []string
	for r := range ch {
		if r.Skip {
			continue
		}
		ran++
		if !r.Pass() {
			failures = append(failures, describeFailure(r))
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("run rego tests: %w", err)
	}
	if ran == 0 {
		return ErrNoTests
	}
	if len(failures) > 0 {
		slices.Sort(failures) // results arrive in any order
		return fmt.Errorf("%w: %s", ErrTestsFailed, strings.Join(failures, "; "))
	}
	return nil
}

// describeFailure names a failed test by package, rule and file:line.
func describeFailure(r *tester.Result) string {
	where := ""
	if r.Location != nil {
		where = fmt.Sprintf(" (%s:%d)", r.Location.File, r.Location.Row)
	}
	if r.Error != nil {
		return fmt.Sprintf("%s.%s%s: error: %v", r.Package, r.Name, where, r.Error)
	}
	return fmt.Sprintf("%s.%s%s: fail", r.Package, r.Name, where)
}
