package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const vetoGET = "package reelguard.authz\n\ndeny contains \"maintenance\" if {\n\tinput.method == \"GET\"\n\tinput.principal.client_ip == \"203.0.113.9\"\n}\n"

// crashOnSub errors (strict builtins) only for the subject "crash", which
// no Rego test uses: only the replay can catch it.
const crashOnSub = "package reelguard.authz\n\ndeny contains \"never\" if {\n\tinput.principal.sub == \"crash\"\n\tto_number(input.principal.sub) > 0\n}\n"

// loggedEngine is an engine over the default policy with an in-memory
// decision log that has recorded ins.
func loggedEngine(tb testing.TB, ins ...Input) (*Engine, string, *DecisionLog) {
	tb.Helper()
	l, err := NewDecisionLog(DecisionLogConfig{Keep: 50, Instance: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	dir := seededDir(tb)
	e, err := NewEngine(context.Background(), dir, nil, WithDecisionLog(l))
	if err != nil {
		tb.Fatal(err)
	}
	for _, in := range ins {
		if _, err := e.Decide(context.Background(), in); err != nil {
			tb.Fatal(err)
		}
	}
	waitFor(tb, func() bool { return len(l.Inputs()) == len(ins) })
	return e, dir, l
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatal("condition not met before the deadline")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func recorded() []Input {
	a := request("user", "42", "GET", "recommend", "42")
	b := request("service", "frontend", "GET", "recommend", "43")
	b.Principal.ClientIP = "203.0.113.9"
	c := request("user", "crash", "GET", "recommend", "crash")
	return []Input{a, b, c}
}

func TestProposeGate(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string][]byte
		wantErr     error
		wantChanged int
	}{
		{"compile error", map[string][]byte{"broken.rego": []byte("package reelguard.authz\n\nallow if {\n")}, ErrCompile, 0},
		{"strict: unused import", map[string][]byte{"imp.rego": []byte("package reelguard.authz\n\nimport data.foo\n")}, ErrCompile, 0},
		{"failing rego test", map[string][]byte{"veto.rego": []byte("package reelguard.authz\n\ndeny contains \"maintenance\" if true\n")}, ErrTestsFailed, 0},
		{"replay evaluation error", map[string][]byte{"crash.rego": []byte(crashOnSub)}, ErrReplay, 0},
		{"bad data", map[string][]byte{"data.json": []byte("[1]")}, ErrCompile, 0},
		{"bad name", map[string][]byte{"../escape.rego": []byte(vetoGET)}, ErrBadFileName, 0},
		{"change reported", map[string][]byte{"ops/veto.rego": []byte(vetoGET)}, nil, 1},
		{"no change", map[string][]byte{"ops/noop.rego": []byte("package reelguard.authz\n\ndeny contains \"x\" if input.method == \"TRACE\"\n")}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, dir, _ := loggedEngine(t, recorded()...)
			before := e.Status()
			rep, err := e.Propose(context.Background(), tt.files)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Propose = %v, want %v", err, tt.wantErr)
				}
				if st := e.Status(); st.Revision != before.Revision || (tt.wantErr != ErrBadFileName && st.LastError == nil) {
					t.Fatalf("Status after a rejected proposal = %+v", st)
				}
				for name := range tt.files {
					if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) && name != "data.json" {
						t.Fatalf("rejected %s was written: %v", name, err)
					}
				}
				assertNoTempFiles(t, dir)
				return
			}
			if err != nil {
				t.Fatalf("Propose: %v", err)
			}
			if !rep.Applied || rep.Replayed != 3 || len(rep.Changed) != tt.wantChanged {
				t.Fatalf("report = %+v, want applied, 3 replayed, %d changed", rep, tt.wantChanged)
			}
			if st := e.Status(); st.Revision != rep.Revision || st.Revision == before.Revision || st.LastError != nil {
				t.Fatalf("Status after a good proposal = %+v, report %+v", st, rep)
			}
			for name, body := range tt.files {
				if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != string(body) {
					t.Fatalf("%s not written: %v", name, err)
				}
			}
			if tt.wantChanged > 0 && (rep.Changed[0].Old.Reason != "allowed" || rep.Changed[0].New.Reason != "maintenance") {
				t.Fatalf("change = %+v", rep.Changed[0])
			}
			assertNoTempFiles(t, dir)
		})
	}
}

func TestProposeRemovesFile(t *testing.T) {
	e, dir, _ := loggedEngine(t)
	if _, err := e.Propose(context.Background(), map[string][]byte{"veto.rego": []byte(vetoGET)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Propose(context.Background(), map[string][]byte{"veto.rego": nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "veto.rego")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("veto.rego still there: %v", err)
	}
}

func assertNoTempFiles(tb testing.TB, dir string) {
	tb.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			tb.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestReloadReplays(t *testing.T) {
	e, dir, _ := loggedEngine(t, recorded()...)
	writeFile(t, dir, "crash.rego", crashOnSub)
	if _, err := e.Reload(context.Background()); !errors.Is(err, ErrReplay) {
		t.Fatalf("Reload = %v, want ErrReplay", err)
	}
	removeFile(t, dir, "crash.rego")
	writeFile(t, dir, "veto.rego", vetoGET)
	rep, err := e.Reload(context.Background())
	if err != nil || !rep.Applied || len(rep.Changed) != 1 {
		t.Fatalf("Reload = %+v, %v; want applied with 1 change", rep, err)
	}
}

func TestWatch(t *testing.T) {
	e, dir, _ := loggedEngine(t, recorded()...)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var results []error
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Watch(ctx, 10*time.Millisecond, func(_ Report, err error) {
			mu.Lock()
			results = append(results, err)
			mu.Unlock()
		})
	}()
	defer func() { cancel(); <-done }()
	good := e.Status()

	writeFile(t, dir, "veto.rego", vetoGET)
	waitFor(t, func() bool { return e.Status().Revision != good.Revision })
	applied := e.Status()

	writeFile(t, dir, "broken.rego", "package reelguard.authz\n\nallow if {\n")
	waitFor(t, func() bool { return e.Status().LastError != nil })
	if st := e.Status(); st.Revision != applied.Revision {
		t.Fatalf("a bad edit replaced the policy: %+v", st)
	}
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(results) >= 2 && results[len(results)-1] != nil
	})
	if !errors.Is(results[len(results)-1], ErrCompile) {
		t.Fatalf("onResult got %v, want ErrCompile", results[len(results)-1])
	}
	in := recorded()[1]
	if d, err := e.Decide(context.Background(), in); err != nil || d.Reason != "maintenance" {
		t.Fatalf("good edit not in force: %+v, %v", d, err)
	}
}

// TestDecideDuringWatch: under -race, decisions keep working while the
// watcher applies and rejects edits.
func TestDecideDuringWatch(t *testing.T) {
	e, dir, _ := loggedEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Watch(ctx, 5*time.Millisecond, nil) }()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	in := request("service", "frontend", "GET", "recommend", "43")
	in.Principal.ClientIP = "203.0.113.9"
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if d, err := e.Decide(ctx, in); err != nil || (d.Reason != "allowed" && d.Reason != "maintenance") {
				t.Errorf("Decide during watch = %+v, %v", d, err)
				return
			}
		}
	})
	for i := range 6 {
		switch i % 3 {
		case 0:
			writeFile(t, dir, "veto.rego", vetoGET)
		case 1:
			writeFile(t, dir, "veto.rego", "package reelguard.authz\n\nallow if {\n")
		case 2:
			removeFile(t, dir, "veto.rego")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	cancel()
	<-done
}

func TestDiff(t *testing.T) {
	dir := seededDir(t)
	writeFile(t, dir, "veto.rego", vetoGET)
	var records []DecisionRecord
	for _, in := range recorded() {
		records = append(records, DecisionRecord{DecisionID: "x", Input: in, Result: Decision{Allow: true, Reason: "allowed", Obligations: Obligations{Tier: in.Principal.Role}}})
	}
	rep, err := Diff(context.Background(), dir, records)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Replayed != 3 || len(rep.Changed) != 1 || rep.Changed[0].New.Reason != "maintenance" {
		t.Fatalf("Diff = %+v", rep)
	}
	writeFile(t, dir, "crash.rego", crashOnSub)
	if _, err := Diff(context.Background(), dir, records); !errors.Is(err, ErrReplay) {
		t.Fatalf("Diff with a crashing edit = %v, want ErrReplay", err)
	}
}

// A rejected proposal never touched the folder, so the watcher finding the
// folder unchanged must not take the rejection for an undone edit.
func TestRejectedProposalKeepsLastErrorAcrossReloads(t *testing.T) {
	e, _, _ := loggedEngine(t)
	if _, err := e.Propose(context.Background(), map[string][]byte{"bad.rego": []byte("package reelguard.authz\nallow if {")}); err == nil {
		t.Fatal("a broken module was accepted")
	}
	if _, err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := e.Status(); st.LastError == nil {
		t.Error("a reload of the unchanged folder cleared the rejected proposal's error")
	}
}
