package policy

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// value builds the policy input as an OPA value directly: per request this
// skips the JSON round trip (or reflection) that rego.EvalInput would make.
func (in Input) value() (ast.Value, error) {
	suspicion, err := ast.InterfaceToValue(in.Suspicion) // nil map: {}
	if err != nil {
		return nil, fmt.Errorf("policy input suspicion: %w", err)
	}
	path := make([]*ast.Term, len(in.Path))
	for i, seg := range in.Path {
		path[i] = ast.StringTerm(seg)
	}
	principal := ast.NewObject(
		ast.Item(ast.InternedTerm("sub"), ast.StringTerm(in.Principal.Sub)),
		ast.Item(ast.InternedTerm("role"), ast.StringTerm(in.Principal.Role)),
		ast.Item(ast.InternedTerm("client_ip"), ast.StringTerm(in.Principal.ClientIP)),
	)
	obj := ast.NewObject(
		ast.Item(ast.InternedTerm("principal"), ast.NewTerm(principal)),
		ast.Item(ast.InternedTerm("method"), ast.StringTerm(in.Method)),
		ast.Item(ast.InternedTerm("path"), ast.ArrayTerm(path...)),
		ast.Item(ast.InternedTerm("suspicion"), ast.NewTerm(suspicion)),
	)
	if in.TargetUser != "" { // omitempty, as in the JSON form
		obj.Insert(ast.InternedTerm("target_user"), ast.StringTerm(in.TargetUser))
	}
	return obj, nil
}

// decodeDecision reads the one decision object out of rs. allow must be a
// boolean; reason and obligations may be absent but not ill-typed, so a
// broken edit fails closed instead of being half understood.
func decodeDecision(rs rego.ResultSet) (Decision, error) {
	if len(rs) == 0 {
		return Decision{}, fmt.Errorf("%w: %s is undefined", ErrBadDecision, decisionQuery)
	}
	if len(rs) > 1 || len(rs[0].Expressions) != 1 {
		return Decision{}, fmt.Errorf("%w: more than one result", ErrBadDecision)
	}
	obj, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return Decision{}, fmt.Errorf("%w: not an object", ErrBadDecision)
	}
	allow, ok := obj["allow"].(bool)
	if !ok {
		return Decision{}, fmt.Errorf("%w: allow is not a boolean", ErrBadDecision)
	}
	d := Decision{Allow: allow}
	var err error
	if d.Reason, err = field[string](obj, "reason"); err != nil {
		return Decision{}, err
	}
	ob, err := field[map[string]any](obj, "obligations")
	if err != nil {
		return Decision{}, err
	}
	if d.Obligations.Tier, err = field[string](ob, "tier"); err != nil {
		return Decision{}, err
	}
	if d.Obligations.Degrade, err = field[bool](ob, "degrade"); err != nil {
		return Decision{}, err
	}
	return d, nil
}

// field reads an optional member of obj: absent is the zero value, present
// with another type is an error.
func field[T any](obj map[string]any, key string) (T, error) {
	var zero T
	raw, present := obj[key]
	if !present {
		return zero, nil
	}
	v, ok := raw.(T)
	if !ok {
		return zero, fmt.Errorf("%w: %s has type %T", ErrBadDecision, key, raw)
	}
	return v, nil
}
