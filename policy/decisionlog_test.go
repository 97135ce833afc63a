package policy

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDecisionLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.log")
	l, err := NewDecisionLog(DecisionLogConfig{Path: path, Keep: 2, Instance: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(context.Background(), seededDir(t), nil, WithDecisionLog(l))
	if err != nil {
		t.Fatal(err)
	}
	in := request("service", "frontend", "GET", "recommend", "43")
	in.Suspicion = map[string]any{"extraction": true, "Access_Token": "eyJ.secret", "ctx": map[string]any{"password": "hunter2", "list": []any{map[string]any{"authorization": "Bearer x"}}}}
	for range 3 {
		if _, err := e.Decide(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if in.Suspicion["Access_Token"] != "eyJ.secret" {
		t.Fatal("redaction modified the caller's input")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"eyJ.secret", "hunter2", "Bearer x"} {
		if strings.Contains(string(raw), secret) {
			t.Fatalf("secret %q in the decision log", secret)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	lines := 0
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", lines, err)
		}
		for _, f := range []string{"decision_id", "timestamp", "path", "revision", "labels", "input", "result", "erased"} {
			if _, ok := m[f]; !ok {
				t.Errorf("line %d lacks %s", lines, f)
			}
		}
		if m["path"] != decisionPath || m["labels"].(map[string]any)["id"] != "gw-1" {
			t.Errorf("line %d: path %v labels %v", lines, m["path"], m["labels"])
		}
		if n := len(m["erased"].([]any)); n != 3 {
			t.Errorf("line %d erased %v, want 3 pointers", lines, m["erased"])
		}
	}
	if lines != 3 || l.Stats().Written != 3 {
		t.Fatalf("%d lines, stats %+v; want 3", lines, l.Stats())
	}

	// A restart restores the replay ring from the file.
	l2, err := NewDecisionLog(DecisionLogConfig{Path: path, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	got := l2.Inputs()
	if len(got) != 2 || got[0].Principal.Role != "service" || got[1].Suspicion["extraction"] != true {
		t.Fatalf("restored inputs = %+v", got)
	}
}

func TestDecisionLogRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.log")
	l, err := NewDecisionLog(DecisionLogConfig{Path: path, MaxBytes: 600, Keep: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		l.Record(request("user", "42", "GET", "recommend", "42"), Decision{Allow: true}, "r", nil)
		_ = i
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	recs, err := ReadDecisionLog(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 || len(recs) > 10 {
		t.Fatalf("read %d records across the rotation", len(recs))
	}
}

func TestDecisionLogDropsWhenFull(t *testing.T) {
	l := &DecisionLog{queue: make(chan pending, 1)}
	l.Record(Input{}, Decision{}, "", nil)
	l.Record(Input{}, Decision{}, "", nil)
	if l.Stats().Dropped != 1 {
		t.Fatalf("stats = %+v, want 1 dropped", l.Stats())
	}
}

func FuzzReadDecisionLog(f *testing.F) {
	f.Add([]byte(`{"decision_id":"a","input":{"principal":{"sub":"42","role":"user"},"method":"GET","path":["recommend","42"]},"result":{"allow":true}}` + "\n"))
	f.Add([]byte("{\"decision_id\":\n{}\n\n"))
	f.Add([]byte(`{"decision_id":"b","input":{"path":"x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readRecords(strings.NewReader(string(data)), nil, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 5 {
			t.Fatalf("kept %d records, want at most 5", len(recs))
		}
		for _, r := range recs {
			if r.DecisionID == "" {
				t.Fatal("record without id accepted")
			}
		}
	})
}

// TestDecisionLogFlushesWithoutClose: records reach the file in batches
// while the log stays open (a crash loses at most the last flush period).
func TestDecisionLogFlushesWithoutClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.log")
	l, err := NewDecisionLog(DecisionLogConfig{Path: path, Instance: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e, err := NewEngine(context.Background(), seededDir(t), nil, WithDecisionLog(l))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Decide(context.Background(), request("user", "7", "GET", "recommend", "7")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		raw, _ := os.ReadFile(path)
		if strings.Count(string(raw), "\n") >= 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the decision did not reach the file within 5 s while the log stayed open")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
