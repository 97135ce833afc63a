package policy

import (
	"context"
	"runtime"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// OPA's evaluator recurses deeply. A request's goroutine starts with a
// small stack, so evaluating on it grows the stack several times, and each
// growth copies every frame: measured under load, over a quarter of the
// gateway's CPU went to runtime.copystack. Evaluations of a deterministic
// policy (pure computation, nothing to wait for) therefore run on a few
// long-lived workers whose stacks have already grown.
var (
	warmOnce sync.Once
	warmJobs chan *evalJob
	jobPool  = sync.Pool{New: func() any { return &evalJob{done: make(chan struct{}, 1)} }}
)

type evalJob struct {
	ctx   context.Context
	p     *prepared
	input *ast.Term
	out   *ast.Term
	err   error
	done  chan struct{}
}

func startWarmWorkers() {
	n := runtime.GOMAXPROCS(0) * 2
	warmJobs = make(chan *evalJob, n)
	for range n {
		go func() {
			for j := range warmJobs {
				j.out, j.err = j.p.eval(j.ctx, j.input)
				j.done <- struct{}{}
			}
		}()
	}
}

// evalWarm is eval on a warm worker. It waits for the evaluation to end
// even when ctx ends first (the evaluation honours ctx and stops soon), so
// the job is never reused while a worker holds it.
func (p *prepared) evalWarm(ctx context.Context, input *ast.Term) (*ast.Term, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	warmOnce.Do(startWarmWorkers)
	j := jobPool.Get().(*evalJob)
	j.ctx, j.p, j.input = ctx, p, input
	select {
	case warmJobs <- j:
	case <-ctx.Done():
		j.ctx, j.p, j.input = nil, nil, nil
		jobPool.Put(j)
		return nil, ctx.Err()
	}
	<-j.done
	out, err := j.out, j.err
	*j = evalJob{done: j.done}
	jobPool.Put(j)
	return out, err
}
