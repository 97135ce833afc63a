package policy

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
)

func TestMemoKeySeparatesInputs(t *testing.T) {
	base := Input{Principal: Principal{Sub: "7", Role: "user", ClientIP: "192.0.2.1"}, Method: "GET",
		Path: []string{"recommend", "7"}, TargetUser: "7", Suspicion: map[string]any{"extraction": false, "score": 0.5}}
	variants := map[string]func(*Input){
		"sub":              func(in *Input) { in.Principal.Sub = "8" },
		"role":             func(in *Input) { in.Principal.Role = "service" },
		"ip":               func(in *Input) { in.Principal.ClientIP = "192.0.2.2" },
		"method":           func(in *Input) { in.Method = "POST" },
		"path split":       func(in *Input) { in.Path = []string{"recommend/7"} },
		"path longer":      func(in *Input) { in.Path = []string{"recommend", "7", ""} },
		"target":           func(in *Input) { in.TargetUser = "" },
		"suspicion flag":   func(in *Input) { in.Suspicion = map[string]any{"extraction": true, "score": 0.5} },
		"suspicion score":  func(in *Input) { in.Suspicion = map[string]any{"extraction": false, "score": 0.51} },
		"suspicion absent": func(in *Input) { in.Suspicion = nil },
		"string not bool":  func(in *Input) { in.Suspicion = map[string]any{"extraction": "false", "score": 0.5} },
		"field boundary":   func(in *Input) { in.Principal.Sub, in.Principal.Role = "7user", "" },
	}
	baseKey, ok := memoKey(base)
	if !ok {
		t.Fatal("memoKey refused a plain input")
	}
	seen := map[string]string{"base": baseKey}
	for name, change := range variants {
		in := base
		in.Principal = base.Principal
		change(&in)
		key, ok := memoKey(in)
		if !ok {
			t.Fatalf("%s: memoKey refused", name)
		}
		for other, k := range seen {
			if k == key {
				t.Errorf("%s and %s share the key %q", name, other, key)
			}
		}
		seen[name] = key
	}
	same := base
	same.Suspicion = map[string]any{"score": 0.5, "extraction": false} // the same map, built in another order
	if k, _ := memoKey(same); k != baseKey {
		t.Errorf("equal inputs got different keys: %q and %q", k, baseKey)
	}
	if _, ok := memoKey(Input{Suspicion: map[string]any{"nested": map[string]any{}}}); ok {
		t.Error("memoKey accepted a suspicion value it cannot encode")
	}
}

func TestMemoStaysBounded(t *testing.T) {
	m := newMemo(8)
	for i := range 100 {
		m.put(strconv.Itoa(i), Decision{Reason: strconv.Itoa(i)})
		if n := len(m.cur) + len(m.old); n > 8 {
			t.Fatalf("after %d puts the memo holds %d decisions, want at most 8", i+1, n)
		}
	}
	if d, ok := m.get("99"); !ok || d.Reason != "99" {
		t.Errorf("the newest decision is gone: %+v, %v", d, ok)
	}
	if _, ok := m.get("0"); ok {
		t.Error("the oldest decision is still remembered")
	}
}

// TestMemoMatchesEvaluation decides many inputs twice, concurrently, and
// checks every answer (remembered or not) against an inline evaluation.
func TestMemoMatchesEvaluation(t *testing.T) {
	e, _ := newTestEngine(t)
	p := e.state.Load().policy
	if p.memo == nil {
		t.Fatal("the default policy is deterministic, yet has no memo")
	}
	var inputs []Input
	for _, role := range []string{"user", "service", "ingest", "admin", "nobody"} {
		for _, target := range []string{"1", "2", "3"} {
			in := request(role, "1", "GET", "recommend", target)
			in.TargetUser = target
			inputs = append(inputs, in)
			flagged := in
			flagged.Suspicion = map[string]any{"extraction": true, "score": 0.9}
			inputs = append(inputs, flagged)
		}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for round := range 8 {
		wg.Go(func() {
			for _, in := range inputs {
				got, err := p.decide(ctx, in)
				want, werr := p.evaluate(ctx, in, p.eval)
				if err != nil || werr != nil || got != want {
					t.Errorf("round %d, %+v: decide %+v, %v; evaluation %+v, %v", round, in, got, err, want, werr)
				}
			}
		})
	}
	wg.Wait()
}

func TestNondeterministicPolicyIsNotRemembered(t *testing.T) {
	dir := seededDir(t)
	writeFile(t, dir, "clock.rego", `package reelguard.authz

deny contains "late" if time.now_ns() < 0
`)
	e, err := NewEngine(context.Background(), dir, nil)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	p := e.state.Load().policy
	if p.memo != nil {
		t.Fatal("a policy calling time.now_ns got a decision memo")
	}
	in := request("user", "1", "GET", "recommend", "1")
	in.TargetUser = "1"
	if d, err := e.Decide(context.Background(), in); err != nil || !d.Allow {
		t.Errorf("Decide = %+v, %v; want allowed", d, err)
	}
}

func TestCancelledDecisionIsNotRemembered(t *testing.T) {
	e, _ := newTestEngine(t)
	p := e.state.Load().policy
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := request("user", "5", "GET", "recommend", "5")
	in.TargetUser = "5"
	if _, err := p.decide(ctx, in); err == nil {
		t.Fatal("a cancelled decision succeeded")
	}
	key, _ := memoKey(in)
	if d, ok := p.memo.get(key); ok {
		t.Errorf("a cancelled decision was remembered: %+v", d)
	}
	if d, err := p.decide(context.Background(), in); err != nil || !d.Allow {
		t.Errorf("after the cancelled one: %+v, %v", d, err)
	}
}

// BenchmarkDecideUncached times evaluations that the memo cannot answer
// (a new target user each time), on the warm workers:
//
//	go test -run XXX -bench 'DecideUncached' -benchtime 20000x ./policy/
func BenchmarkDecideUncached(b *testing.B) {
	e, _ := newTestEngine(b)
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		target := fmt.Sprint(i)
		in := request("service", "frontend", "GET", "recommend", target)
		in.TargetUser = target
		if d, err := e.Decide(ctx, in); err != nil || !d.Allow {
			b.Fatalf("Decide = %+v, %v", d, err)
		}
	}
}
