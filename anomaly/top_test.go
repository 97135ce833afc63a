package anomaly

import (
	"fmt"
	"testing"
	"time"
)

func TestExtractionTop(t *testing.T) {
	e := newTestExtraction(t, ExtractionConfig{})
	for i := range 30 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		e.Observe(rec(at, "frontend", RoleService, fmt.Sprint(i)))
		e.Observe(rec(at, "frontend", RoleService, fmt.Sprint(i))) // a repeat is not another user
		if i < 10 {
			e.Observe(rec(at, "batch", "ingest", fmt.Sprint(i)))
		}
		e.Observe(rec(at, "7", RoleUser, "7")) // own reads never appear
	}
	got := e.Top(t0.Add(time.Second), 10)
	if len(got) != 2 || got[0].Principal != "frontend" || got[0].DistinctTargets != 30 || got[0].Requests != 60 ||
		got[1].Principal != "batch" || got[1].DistinctTargets != 10 || got[1].Role != "ingest" {
		t.Fatalf("Top = %+v", got)
	}
	if got := e.Top(t0.Add(time.Second), 1); len(got) != 1 {
		t.Errorf("Top(1) = %+v", got)
	}
	if got := e.Top(t0.Add(2*time.Minute), 10); len(got) != 0 {
		t.Errorf("Top after an idle window = %+v, want none", got)
	}
}

// The shared count of several replicas flags a principal whose requests to
// this replica alone stay under the threshold.
func TestExtractionSharedDistinct(t *testing.T) {
	cases := []struct {
		name   string
		shared func(i int) int64 // the shared count after request i (1-based)
		flagAt int
	}{
		{"local only", func(int) int64 { return 0 }, 21},
		{"two replicas", func(i int) int64 { return int64(2 * i) }, 11},
		{"shared count lower than local", func(i int) int64 { return int64(i / 2) }, 21},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestExtraction(t, ExtractionConfig{StrideRun: -1})
			flagAt := 0
			for i := 1; i <= 40 && flagAt == 0; i++ {
				r := rec(t0.Add(time.Duration(i)*time.Second), "batch", "ingest", fmt.Sprint(i*7))
				r.SharedDistinct = tc.shared(i)
				if d := e.Observe(r); d.Action != ActionNone {
					flagAt = i
				}
			}
			if flagAt != tc.flagAt {
				t.Errorf("flagged at request %d, want %d", flagAt, tc.flagAt)
			}
		})
	}
}

func TestTrafficTop(t *testing.T) {
	tr := NewTraffic(time.Minute)
	for i := range 50 {
		at := t0.Add(time.Duration(i) * time.Second)
		tr.Count("frontend", RoleService, at)
		tr.Count("frontend", RoleService, at)
		tr.Count(fmt.Sprint(i%5), RoleUser, at)
	}
	got := tr.Top(t0.Add(70*time.Second), 2)
	want := []RequestStat{{"frontend", RoleService, 100}, {"0", RoleUser, 10}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Top = %+v, want %+v", got, want)
	}
	if got := tr.Top(t0.Add(5*time.Minute), 10); len(got) != 0 {
		t.Errorf("Top after idle windows = %+v, want none", got)
	}
}

// BenchmarkTrafficCount is the request path's cost of the dashboard's
// per-principal counts: 10,000 principals counted in parallel.
func BenchmarkTrafficCount(b *testing.B) {
	tr := NewTraffic(time.Minute)
	names := make([]string, 10000)
	for i := range names {
		names[i] = fmt.Sprint(i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			tr.Count(names[i%len(names)], RoleUser, t0)
			i++
		}
	})
}
