package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrReplay: a recorded input has no valid decision under the candidate
// (an evaluation error, or decision undefined or ill-typed).
var ErrReplay = errors.New("replayed decision failed")

// Report is what the gate learnt of one candidate policy.
type Report struct {
	Revision string `json:"revision"` // the candidate's
	Previous string `json:"previous"` // the policy it was compared with
	// Applied: the candidate passed and is now in force.
	Applied bool `json:"applied"`
	// Replayed counts the recorded inputs evaluated under the candidate.
	Replayed int `json:"replayed"`
	// Changed lists the replayed inputs whose decision would change.
	Changed []Change `json:"changed"`
}

// Change is one recorded input the candidate decides differently.
type Change struct {
	Input Input    `json:"input"`
	Old   Decision `json:"old"`
	New   Decision `json:"new"`
}

// replay decides every input under cand and compares with old(input, i).
// Any failure under cand fails the replay: an operator's edit may change
// decisions, but must decide every request the gateway has seen.
func replay(ctx context.Context, rep *Report, cand *prepared, inputs []Input, old func(Input, int) Decision) error {
	for i, in := range inputs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		d, err := cand.decide(ctx, in)
		if err != nil {
			return fmt.Errorf("%w: input %d (%s %v as %q): %w", ErrReplay, i, in.Method, in.Path, in.Principal.Role, err)
		}
		rep.Replayed++
		if prev := old(in, i); prev != d {
			rep.Changed = append(rep.Changed, Change{Input: in, Old: prev, New: d})
		}
	}
	return nil
}

// Diff runs the whole edit gate on the policy in dir, replaying records
// (as ReadDecisionLog returns them) under it, and lists the recorded
// decisions it would change: `gateway policy check DIR` and `gateway policy
// diff DIR`. A record's old decision is the one it logged.
func Diff(ctx context.Context, dir string, records []DecisionRecord) (Report, error) {
	src, err := readSource(os.DirFS(dir), dir)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Revision: src.revision()}
	p, err := gate(ctx, src)
	if err != nil {
		return rep, err
	}
	inputs := make([]Input, len(records))
	for i, r := range records {
		inputs[i] = r.Input
	}
	err = replay(ctx, &rep, p, inputs, func(_ Input, i int) Decision { return records[i].Result })
	if err != nil {
		return rep, fmt.Errorf("policy %s: %w", dir, err)
	}
	return rep, nil
}
