package policy

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Input keys and frequent values as shared terms: OPA never mutates input
// terms, so building the input from them saves allocations per request.
var (
	keyPrincipal  = ast.StringTerm("principal")
	keySub        = ast.StringTerm("sub")
	keyRole       = ast.StringTerm("role")
	keyClientIP   = ast.StringTerm("client_ip")
	keyMethod     = ast.StringTerm("method")
	keyPath       = ast.StringTerm("path")
	keySuspicion  = ast.StringTerm("suspicion")
	keyTargetUser = ast.StringTerm("target_user")

	keyAllow       = ast.StringTerm("allow")
	keyReason      = ast.StringTerm("reason")
	keyObligations = ast.StringTerm("obligations")
	keyTier        = ast.StringTerm("tier")
	keyDegrade     = ast.StringTerm("degrade")

	commonStrings = internTerms("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
		"user", "service", "ingest", "admin", "recommend", "events", "policy", "blocks", "")
)

func internTerms(values ...string) map[string]*ast.Term {
	m := make(map[string]*ast.Term, len(values))
	for _, v := range values {
		m[v] = ast.StringTerm(v)
	}
	return m
}

// stringTerm is a shared term for a frequent value, a new one otherwise.
func stringTerm(s string) *ast.Term {
	if t, ok := commonStrings[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

// value builds the policy input as an OPA value directly: per request this
// skips the JSON round trip (or reflection) that rego.EvalInput would make.
func (in Input) value() (ast.Value, error) {
	var suspicion ast.Value = ast.NewObject() // nil map: {}
	if len(in.Suspicion) > 0 {
		var err error
		if suspicion, err = ast.InterfaceToValue(in.Suspicion); err != nil {
			return nil, fmt.Errorf("policy input suspicion: %w", err)
		}
	}
	path := make([]*ast.Term, len(in.Path))
	for i, seg := range in.Path {
		path[i] = stringTerm(seg)
	}
	principal := ast.NewObject(
		[2]*ast.Term{keySub, ast.StringTerm(in.Principal.Sub)},
		[2]*ast.Term{keyRole, stringTerm(in.Principal.Role)},
		[2]*ast.Term{keyClientIP, ast.StringTerm(in.Principal.ClientIP)},
	)
	obj := ast.NewObject(
		[2]*ast.Term{keyPrincipal, ast.NewTerm(principal)},
		[2]*ast.Term{keyMethod, stringTerm(in.Method)},
		[2]*ast.Term{keyPath, ast.ArrayTerm(path...)},
		[2]*ast.Term{keySuspicion, ast.NewTerm(suspicion)},
	)
	if in.TargetUser != "" { // omitempty, as in the JSON form
		obj.Insert(keyTargetUser, ast.StringTerm(in.TargetUser))
	}
	return obj, nil
}

// decodeDecision reads the decision object. allow must be a boolean;
// reason and obligations may be absent but not ill-typed, so a broken edit
// fails closed instead of being half understood.
func decodeDecision(t *ast.Term) (Decision, error) {
	if t == nil {
		return Decision{}, fmt.Errorf("%w: %s is undefined", ErrBadDecision, decisionQuery)
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return Decision{}, fmt.Errorf("%w: not an object", ErrBadDecision)
	}
	allow, present, ok := field[ast.Boolean](obj, keyAllow)
	if !present || !ok {
		return Decision{}, fmt.Errorf("%w: allow is not a boolean", ErrBadDecision)
	}
	reason, _, ok := field[ast.String](obj, keyReason)
	if !ok {
		return Decision{}, fmt.Errorf("%w: reason is not a string", ErrBadDecision)
	}
	d := Decision{Allow: bool(allow), Reason: string(reason)}
	ob, present, ok := field[ast.Object](obj, keyObligations)
	if !ok {
		return Decision{}, fmt.Errorf("%w: obligations is not an object", ErrBadDecision)
	}
	if !present {
		return d, nil
	}
	tier, _, ok := field[ast.String](ob, keyTier)
	if !ok {
		return Decision{}, fmt.Errorf("%w: tier is not a string", ErrBadDecision)
	}
	degrade, _, ok := field[ast.Boolean](ob, keyDegrade)
	if !ok {
		return Decision{}, fmt.Errorf("%w: degrade is not a boolean", ErrBadDecision)
	}
	d.Obligations = Obligations{Tier: string(tier), Degrade: bool(degrade)}
	return d, nil
}

// field reads an optional member of obj: ok is false only when it is
// present with another type.
func field[T ast.Value](obj ast.Object, key *ast.Term) (v T, present, ok bool) {
	t := obj.Get(key)
	if t == nil {
		return v, false, true
	}
	v, ok = t.Value.(T)
	return v, true, ok
}
