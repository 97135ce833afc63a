package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFormatProgress(t *testing.T) {
	tests := []struct {
		name, label, unit string
		done, total       int64
		elapsed           time.Duration
		want              string
	}{
		{"start", "als", "iterations", 0, 15, 0,
			"als [>                             ]   0% 0/15 iterations 0s"},
		{"a fifth", "als", "iterations", 3, 15, 6 * time.Second,
			"als [======>                       ]  20% 3/15 iterations 6s, 24s left"},
		{"bytes", "reading x.log", "bytes", 750_000_000, 1_500_000_000, 5 * time.Second,
			"reading x.log [===============>              ]  50% 750.0 MB/1.5 GB 5s, 5s left"},
		{"done", "als", "iterations", 15, 15, 90 * time.Second,
			"als [==============================] 100% 15/15 iterations 1m30s"},
		{"unknown total", "reading", "bytes", 999, 0, time.Second,
			"reading [>                             ]   0% 999 B/0 B 1s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatProgress(tc.label, tc.unit, tc.done, tc.total, tc.elapsed); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 12_345_678: "12.3 MB", 1_498_525_609: "1.5 GB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestProgressSilentOffTerminal: neither a buffer nor a regular file is a
// terminal, so the bar draws nothing there; log lines still go through.
func TestProgressSilentOffTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	for name, w := range map[string]interface {
		Write([]byte) (int, error)
	}{"buffer": &buf, "file": f} {
		p := newProgress(w)
		p.begin("reading", "bytes", 100)
		p.set(50)
		p.set(100)
		p.end()
		if p.w != nil {
			t.Errorf("%s: progress enabled off a terminal", name)
		}
	}
	if st, err := f.Stat(); err != nil || st.Size() != 0 || buf.Len() != 0 {
		t.Fatalf("wrote %q to a buffer and %v bytes to a file (err %v); want nothing", buf.String(), st.Size(), err)
	}
}

func TestALSProgressLogsIterations(t *testing.T) {
	var buf bytes.Buffer
	report := alsProgress(&buf, 2)
	report(1, 2, 1500*time.Millisecond)
	report(2, 2, 2*time.Second)
	want := "recommender: als: iteration 1/2: 1.5s\nrecommender: als: iteration 2/2: 2s\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
}
