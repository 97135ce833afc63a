package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrBadFileName: a proposed file is not a policy file inside the folder.
var ErrBadFileName = errors.New("bad policy file name")

// Reload puts the folder's current files through the gate (Check plus a
// replay of the recorded inputs) and swaps them in only when they pass. A
// rejected edit leaves the last good policy in force and is reported by
// Status().LastError until a good load. Unchanged files are not gated
// again, so Reload is cheap to call from a poller. Report.Applied says
// whether a new revision went live.
func (e *Engine) Reload(ctx context.Context) (Report, error) {
	e.edit.Lock()
	defer e.edit.Unlock()
	cur := e.state.Load()
	src, err := readSource(os.DirFS(e.dir), e.dir)
	if err != nil {
		e.reject(ctx, cur, "", true, err)
		return Report{Previous: cur.policy.revision}, fmt.Errorf("reload policy: %w", err)
	}
	if rev := src.revision(); rev == cur.policy.revision {
		if cur.lastError != nil && cur.folderError { // a rejected edit of the folder was undone
			e.state.Store(&engineState{policy: cur.policy})
		}
		return Report{Revision: rev, Previous: rev}, nil
	}
	p, rep, err := e.vet(ctx, cur.policy, src)
	if err != nil {
		e.reject(ctx, cur, rep.Revision, true, err)
		return rep, fmt.Errorf("reload policy: %w", err)
	}
	e.activate(p, rep, cur.policy.revision)
	rep.Applied = true
	return rep, nil
}

// Propose puts the policy folder with files added or replaced (a nil
// content removes that file) through the gate, as PUT /admin/policy does.
// Names are slash-separated and relative to the folder, and end in .rego
// or are a data.json. Only when the gate passes are the files written
// (each atomically: a temporary file renamed over the old) and the new
// policy put in force; a rejected proposal leaves folder and policy as
// they were and is reported by Status().LastError.
func (e *Engine) Propose(ctx context.Context, files map[string][]byte) (Report, error) {
	for name := range files {
		if err := checkFileName(name); err != nil {
			return Report{}, fmt.Errorf("propose policy: %w", err)
		}
	}
	e.edit.Lock()
	defer e.edit.Unlock()
	cur := e.state.Load()
	src, err := readSource(os.DirFS(e.dir), e.dir)
	if err != nil {
		return Report{}, fmt.Errorf("propose policy: %w", err)
	}
	p, rep, err := e.vet(ctx, cur.policy, src.with(files))
	if err != nil {
		e.reject(ctx, cur, rep.Revision, false, err)
		return rep, fmt.Errorf("propose policy: %w", err)
	}
	if err := writeFiles(e.dir, files); err != nil {
		return rep, fmt.Errorf("propose policy: %w", err)
	}
	e.activate(p, rep, cur.policy.revision)
	rep.Applied = true
	return rep, nil
}

// vet gates src and replays the recorded inputs under it.
func (e *Engine) vet(ctx context.Context, cur *prepared, src source) (*prepared, Report, error) {
	rep := Report{Revision: src.revision(), Previous: cur.revision}
	p, err := gate(ctx, src)
	if err != nil {
		return nil, rep, err
	}
	if err := replay(ctx, &rep, p, e.replayInputs(), func(in Input, _ int) Decision {
		d, _ := cur.decide(ctx, in) // an old error shows as a policy_error change
		return d
	}); err != nil {
		return nil, rep, fmt.Errorf("policy %s: %w", src.Root, err)
	}
	return p, rep, nil
}

// checkFileName accepts a relative, clean, visible .rego or data.json path.
func checkFileName(name string) error {
	if name == "" || path.IsAbs(name) || strings.Contains(name, `\`) ||
		path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") || !isPolicyName(name) {
		return fmt.Errorf("%w: %q", ErrBadFileName, name)
	}
	return nil
}

// writeFiles writes (or removes) each file of files under dir.
func writeFiles(dir string, files map[string][]byte) error {
	for name, data := range files {
		target := filepath.Join(dir, filepath.FromSlash(name))
		if data == nil {
			if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			continue
		}
		if err := writeAtomic(target, data); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic writes data to a hidden temporary file beside name (the
// watcher skips hidden files), syncs it and renames it over name, so a
// reader sees the old content or the new, never half of it.
func writeAtomic(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: already gone
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
