package policy

import (
	"context"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// resultVar names the decision in the compiled query.
var resultVar = ast.Var("__decision")

// noMetrics: a decision records no OPA metrics, so it allocates no timers.
var noMetrics = metrics.NoOp()

// prepared is a policy that passed the gate, ready to evaluate. It calls
// topdown directly rather than rego.PreparedEvalQuery: that skips a
// transaction, a metrics set, a cancellation goroutine and a JSON
// conversion of the result per decision (about a third of the cost).
type prepared struct {
	compiler *ast.Compiler
	query    ast.Body
	store    storage.Store
	// txn is a read transaction held for the policy's life: the store is
	// never written after load, and read-only inmem transactions are safe
	// for concurrent use.
	txn      storage.Transaction
	revision string
	files    int
	loadedAt time.Time
	// memo remembers decisions by input; nil when the policy calls a
	// nondeterministic builtin, which also keeps its evaluations inline.
	memo *memo
}

// prepare compiles the decision query against compiler and data.
func prepare(ctx context.Context, compiler *ast.Compiler, data map[string]any) (*prepared, error) {
	store := inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true))
	body := ast.NewBody(ast.Equality.Expr(ast.NewTerm(resultVar), ast.MustParseTerm(decisionQuery)))
	query, err := compiler.QueryCompiler().Compile(body)
	if err != nil {
		return nil, fmt.Errorf("%w: decision query: %w", ErrCompile, err)
	}
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy store: %w", err)
	}
	p := &prepared{compiler: compiler, query: query, store: store, txn: txn, loadedAt: time.Now()}
	if deterministic(compiler) {
		p.memo = newMemo(memoSize)
	}
	return p, nil
}

// decide evaluates the decision for in. On any error the returned decision
// denies with reason "policy_error"; callers must deny too.
func (p *prepared) decide(ctx context.Context, in Input) (Decision, error) {
	if p.memo == nil {
		return p.evaluate(ctx, in, p.eval)
	}
	key, ok := memoKey(in)
	if !ok {
		return p.evaluate(ctx, in, p.evalWarm)
	}
	if d, hit := p.memo.get(key); hit {
		return d, nil
	}
	d, err := p.evaluate(ctx, in, p.evalWarm)
	if err == nil { // errors (a cancelled request, a bad result) are never remembered
		p.memo.put(key, d)
	}
	return d, err
}

// evaluate builds in's OPA value, evaluates it with eval and decodes the
// decision.
func (p *prepared) evaluate(ctx context.Context, in Input, eval func(context.Context, *ast.Term) (*ast.Term, error)) (Decision, error) {
	failed := Decision{Reason: "policy_error"}
	input, err := in.value()
	if err != nil {
		return failed, err
	}
	t, err := eval(ctx, ast.NewTerm(input))
	if err != nil {
		return failed, fmt.Errorf("evaluate policy: %w", err)
	}
	d, err := decodeDecision(t)
	if err != nil {
		return failed, err
	}
	return d, nil
}

// eval runs the query once; more than one result is an error.
func (p *prepared) eval(ctx context.Context, input *ast.Term) (*ast.Term, error) {
	q := topdown.NewQuery(p.query).
		WithCompiler(p.compiler).
		WithStore(p.store).
		WithTransaction(p.txn).
		WithInput(input).
		WithMetrics(noMetrics).
		WithStrictBuiltinErrors(true)
	if ctx.Done() != nil { // cancel with the request, without a goroutine
		c := topdown.NewCancel()
		stop := context.AfterFunc(ctx, c.Cancel)
		defer stop()
		q = q.WithCancel(c)
	}
	var out *ast.Term
	n := 0
	err := q.Iter(ctx, func(qr topdown.QueryResult) error {
		out = qr[resultVar]
		n++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n > 1 {
		return nil, fmt.Errorf("%w: more than one result", ErrBadDecision)
	}
	return out, nil
}
