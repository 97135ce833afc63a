package policy

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func recordCases() []DecisionRecord {
	at := time.Date(2026, 11, 25, 23, 4, 5, 123456789, time.UTC)
	return []DecisionRecord{
		{},
		{DecisionID: "d1", Timestamp: at, Path: decisionPath, Revision: "abc",
			Labels: map[string]string{"id": "gw-1", "app": "reelguard"},
			Input: Input{Principal: Principal{Sub: "42", Role: "user", ClientIP: "192.0.2.1"}, Method: "GET",
				Path: []string{"recommend", "42"}, TargetUser: "42", Suspicion: map[string]any{"extraction": false, "score": 0.25}},
			Result: Decision{Allow: true, Reason: "own_recommendations", Obligations: Obligations{Tier: "user"}}},
		{DecisionID: "d2", Timestamp: at.In(time.FixedZone("x", 3600)), Input: Input{Path: []string{}, Suspicion: map[string]any{}},
			Result: Decision{Reason: "policy_error"}, Error: "evaluate: <bad> & \"worse\"\n\t\u2028\u2029\x01\xff",
			Erased: []string{"/input/suspicion/token"}},
		{Input: Input{Principal: Principal{Sub: "ü√\U0001F600<script>"}, Method: "PUT", Path: []string{"a\\b", "c/d"}}},
		{Input: Input{Suspicion: map[string]any{"tiny": 1e-7, "huge": 1e21, "neg": -0.5, "zero": 0.0, "int": 7, "s": "x<y",
			"nested": map[string]any{"a": []any{1.5, true}}}}}, // nested: handed to encoding/json whole
		{Input: Input{Suspicion: map[string]any{"b": true, "a": 123456789.125, "c": 1e-300}}},
	}
}

// TestAppendRecordMatchesEncodingJSON: the hand-written encoder gives
// exactly encoding/json's bytes, so the decision log's format (OPA's shape)
// cannot drift.
func TestAppendRecordMatchesEncodingJSON(t *testing.T) {
	for i, r := range recordCases() {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendRecord(nil, r)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s (%v)\nwant %s", i, got, err, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<>&\"\\", "\x00\x1f\x7f", "\u2028\u2029", "\xff\xfe", "é€𝄞", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkAppendRecord(b *testing.B) {
	r := recordCases()[1]
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(r)
		}
	})
	b.Run("appendRecord", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf, _ = appendRecord(buf[:0], r)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, -0.0, 1, 1e-6, 9.99e-7, 1e20, 1e21, 123456.789, -2.5e-10, 5e-324} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, err := json.Marshal(v)
		got, ok := appendFloat(nil, v)
		if (err == nil) != ok || (ok && !bytes.Equal(got, want)) {
			t.Fatalf("appendFloat(%v) = %s, %v; encoding/json %s, %v", v, got, ok, want, err)
		}
	})
}
