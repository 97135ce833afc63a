package policy

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
)

// Engine evaluates the policy of one folder. Decide is safe for concurrent
// use and never waits for an edit: the policy in force sits behind an
// atomic pointer and is replaced only by an edit that passed the gate
// (compile, Rego tests, replay of recorded decisions).
type Engine struct {
	dir    string
	logger *slog.Logger
	log    *DecisionLog // nil: decisions are neither logged nor replayed
	state  atomic.Pointer[engineState]
	edit   sync.Mutex // one gate run at a time, so edits go live in order
}

// engineState is swapped whole, so Status never mixes two loads.
type engineState struct {
	policy    *prepared
	lastError *string
	// folderError: lastError came from a bad edit of the folder (which
	// undoing clears), not from a rejected proposal (the folder never held it).
	folderError bool
}

// Option configures an Engine.
type Option func(*Engine)

// WithDecisionLog records every decision in l and replays l's recent
// inputs under each edit before it goes live.
func WithDecisionLog(l *DecisionLog) Option {
	return func(e *Engine) { e.log = l }
}

// NewEngine puts the policy in dir through the gate (see Check) and
// prepares data.reelguard.authz.decision once. A nil logger discards.
func NewEngine(ctx context.Context, dir string, logger *slog.Logger, opts ...Option) (*Engine, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{dir: dir, logger: logger}
	for _, o := range opts {
		o(e)
	}
	src, err := readSource(os.DirFS(dir), dir)
	if err != nil {
		return nil, fmt.Errorf("new policy engine: %w", err)
	}
	p, err := gate(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("new policy engine: %w", err)
	}
	e.state.Store(&engineState{policy: p})
	logger.Info("policy loaded", "dir", dir, "revision", p.revision, "files", p.files)
	return e, nil
}

// Decide evaluates the decision for in. On any error the returned decision
// denies with reason "policy_error"; callers must deny too. With a decision
// log the record is queued, never waited for; in must not be modified
// afterwards.
func (e *Engine) Decide(ctx context.Context, in Input) (Decision, error) {
	p := e.state.Load().policy
	d, err := p.decide(ctx, in)
	if e.log != nil {
		e.log.Record(in, d, p.revision, err)
	}
	return d, err
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

// Dir is the policy folder the engine watches.
func (e *Engine) Dir() string { return e.dir }

// replayInputs are the recorded inputs an edit is replayed on.
func (e *Engine) replayInputs() []Input {
	if e.log == nil {
		return nil
	}
	return e.log.Inputs()
}

// reject records a gate failure as the last error, keeping the policy.
func (e *Engine) reject(ctx context.Context, cur *engineState, revision string, fromFolder bool, err error) {
	if ctx.Err() != nil { // a cancelled gate run says nothing of the edit
		return
	}
	msg := err.Error()
	e.state.Store(&engineState{policy: cur.policy, lastError: &msg, folderError: fromFolder})
	e.logger.Warn("policy edit rejected", "dir", e.dir, "revision", cur.policy.revision, "candidate", revision, "err", err)
}

// activate puts p in force.
func (e *Engine) activate(p *prepared, rep Report, previous string) {
	e.state.Store(&engineState{policy: p})
	e.logger.Info("policy activated", "dir", e.dir, "revision", p.revision, "previous", previous,
		"replayed", rep.Replayed, "changed", len(rep.Changed))
}
