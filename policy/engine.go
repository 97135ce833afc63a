package policy

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/rego"
)

// Engine evaluates the policy of one folder. Decide is safe for concurrent
// use and never waits for Reload: the policy in force sits behind an atomic
// pointer and is replaced only by an edit that passed the gate.
type Engine struct {
	dir    string
	logger *slog.Logger
	state  atomic.Pointer[engineState]
	reload sync.Mutex // one gate run at a time, so edits go live in order
}

// engineState is swapped whole, so Status never mixes two loads.
type engineState struct {
	policy    *prepared
	lastError *string
}

// NewEngine puts the policy in dir through the gate (see Check) and
// prepares data.reelguard.authz.decision once. A nil logger discards.
func NewEngine(ctx context.Context, dir string, logger *slog.Logger) (*Engine, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	src, err := readSource(os.DirFS(dir), dir)
	if err != nil {
		return nil, fmt.Errorf("new policy engine: %w", err)
	}
	p, err := gate(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("new policy engine: %w", err)
	}
	e := &Engine{dir: dir, logger: logger}
	e.state.Store(&engineState{policy: p})
	logger.Info("policy loaded", "dir", dir, "revision", p.revision, "files", p.files)
	return e, nil
}

// Decide evaluates the decision for in. On any error the returned decision
// denies with reason "policy_error"; callers must deny too.
func (e *Engine) Decide(ctx context.Context, in Input) (Decision, error) {
	return e.state.Load().policy.decide(ctx, in)
}

func (p *prepared) decide(ctx context.Context, in Input) (Decision, error) {
	failed := Decision{Reason: "policy_error"}
	input, err := in.value()
	if err != nil {
		return failed, err
	}
	rs, err := p.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return failed, fmt.Errorf("evaluate policy: %w", err)
	}
	d, err := decodeDecision(rs)
	if err != nil {
		return failed, err
	}
	return d, nil
}

// Reload puts the folder's current files through the gate and swaps them in
// only when they pass. A rejected edit leaves the last good policy in force
// and is reported by Status().LastError until a good load. Unchanged files
// are not gated again, so Reload is cheap to call from a poller.
func (e *Engine) Reload(ctx context.Context) error {
	e.reload.Lock()
	defer e.reload.Unlock()
	cur := e.state.Load()
	src, err := readSource(os.DirFS(e.dir), e.dir)
	if err == nil && src.revision() == cur.policy.revision {
		if cur.lastError != nil { // a rejected edit was undone
			e.state.Store(&engineState{policy: cur.policy})
		}
		return nil
	}
	var p *prepared
	if err == nil {
		p, err = gate(ctx, src)
	}
	if err != nil {
		if ctx.Err() == nil { // a cancelled reload says nothing of the edit
			msg := err.Error()
			e.state.Store(&engineState{policy: cur.policy, lastError: &msg})
			e.logger.Warn("policy edit rejected", "dir", e.dir, "revision", cur.policy.revision, "err", err)
		}
		return fmt.Errorf("reload policy: %w", err)
	}
	e.state.Store(&engineState{policy: p})
	e.logger.Info("policy reloaded", "dir", e.dir, "revision", p.revision, "previous", cur.policy.revision)
	return nil
}

// Status reports the policy in force and the last rejected edit, if any.
func (e *Engine) Status() Status {
	s := e.state.Load()
	st := Status{Revision: s.policy.revision, LoadedAt: s.policy.loadedAt}
	if s.lastError != nil {
		msg := *s.lastError
		st.LastError = &msg
	}
	return st
}
