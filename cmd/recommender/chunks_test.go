package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/reelguard/reelguard/recommender"
)

// scannedLine is one line fn saw, or a bad line's number (line < 0).
type scannedLine struct {
	n    int
	line string
}

// scanAll runs scanChunksSize over in and returns what fn saw and the bad lines.
func scanAll(tb testing.TB, in string, size, maxLen int) ([]scannedLine, []int, int) {
	tb.Helper()
	var (
		got  []scannedLine
		bad  recommender.BadLines
		read int64
	)
	n, err := scanChunksSize(strings.NewReader(in), size, maxLen, &bad, func(b int64) { read = b },
		func(n int, line string) { got = append(got, scannedLine{n, line}) })
	if err != nil {
		tb.Fatal(err)
	}
	if read != int64(len(in)) {
		tb.Fatalf("read callback saw %d bytes, want %d", read, len(in))
	}
	var badLines []int
	for _, e := range bad.First {
		if !errors.Is(e.Err, recommender.ErrBadLine) {
			tb.Fatalf("bad line %d: %v does not wrap ErrBadLine", e.Line, e.Err)
		}
		badLines = append(badLines, e.Line)
	}
	return got, badLines, n
}

func TestScanChunks(t *testing.T) {
	long := strings.Repeat("x", 20)
	tests := []struct {
		name string
		in   string
		want []scannedLine
		bad  []int
	}{
		{"empty", "", nil, nil},
		{"no final newline", "a\nb", []scannedLine{{1, "a"}, {2, "b"}}, nil},
		{"crlf", "a\r\nb\r\n", []scannedLine{{1, "a"}, {2, "b"}}, nil},
		{"blank lines count", "\n\nc\n", []scannedLine{{1, ""}, {2, ""}, {3, "c"}}, nil},
		{"exactly max", "12345678\n", []scannedLine{{1, "12345678"}}, nil},
		{"too long inside a chunk", "a\n123456789\nb\n", []scannedLine{{1, "a"}, {3, "b"}}, []int{2}},
		{"too long across chunks", "a\n" + long + "\nb\n", []scannedLine{{1, "a"}, {3, "b"}}, []int{2}},
		{"too long at the end", "a\n" + long, []scannedLine{{1, "a"}}, []int{2}},
		{"too long twice", long + "\n" + long + long + "\nz", []scannedLine{{3, "z"}}, []int{1, 2}},
		{"lines across chunk edges", "abc\ndefg\nhi\njklmn\n", []scannedLine{{1, "abc"}, {2, "defg"}, {3, "hi"}, {4, "jklmn"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{1, 5, 7, 64} { // 2*maxLen+2 = 18 is the floor
				got, bad, n := scanAll(t, tc.in, size, 8)
				if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(bad, tc.bad) {
					t.Fatalf("size %d: lines %+v, bad %v; want %+v, bad %v", size, got, bad, tc.want, tc.bad)
				}
				if want := len(tc.want) + len(tc.bad); n != want {
					t.Fatalf("size %d: counted %d lines, want %d", size, n, want)
				}
			}
		})
	}
}

// TestScanChunksMatchesScanLines: away from the length limit, the chunked
// scanner sees the same lines as recommender.ScanLines, however the reader
// splits its reads.
func TestScanChunksMatchesScanLines(t *testing.T) {
	in := "2024-01-01T00:00:00,1,GET /create_account\r\n\nx\n" + strings.Repeat("line\n", 100) + "last"
	var want []scannedLine
	var bad recommender.BadLines
	if _, err := recommender.ScanLines(strings.NewReader(in), 1<<10, &bad, func(n int, line string) {
		want = append(want, scannedLine{n, line})
	}); err != nil {
		t.Fatal(err)
	}
	var got []scannedLine
	if _, err := scanChunksSize(iotest.HalfReader(strings.NewReader(in)), 64, 1<<10, &bad, nil, func(n int, line string) {
		got = append(got, scannedLine{n, line})
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || bad.Count != 0 {
		t.Fatalf("scanChunks %+v\nScanLines %+v (bad %v)", got, want, bad)
	}
}

func TestScanChunksReadError(t *testing.T) {
	var bad recommender.BadLines
	_, err := scanChunks(iotest.ErrReader(errors.New("disk on fire")), 64, &bad, nil, func(int, string) {})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v, want the read error", err)
	}
}

func FuzzScanChunks(f *testing.F) {
	f.Add("a\nb", 5)
	f.Add("\r\n\n123456789\nxyz", 1)
	f.Fuzz(func(t *testing.T, in string, size int) {
		size = 1 + abs(size)%64
		got, bad, n := scanAll(t, in, size, 8)
		if n != len(got)+len(bad) && len(bad) < recommender.MaxReportedBadLines {
			t.Fatalf("counted %d lines, saw %d good and %d bad", n, len(got), len(bad))
		}
		for i, l := range got {
			if len(l.line) > 8 || strings.Contains(l.line, "\n") || (i > 0 && l.n <= got[i-1].n) {
				t.Fatalf("bad line %d: %q", l.n, l.line)
			}
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
