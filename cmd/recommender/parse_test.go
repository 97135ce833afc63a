package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// TestReadMovielogPipelineOrder: across many batches, bad lines of both
// kinds (too long for the scanner, invalid for the parser) are reported in
// line order, and every good line counts.
func TestReadMovielogPipelineOrder(t *testing.T) {
	var b strings.Builder
	var wantBad []int
	const lines = 3*parseBatch + 7
	for n := 1; n <= lines; n++ {
		switch {
		case n%1000 == 3:
			b.WriteString(strings.Repeat("x", maxLogLine+1) + "\n")
			wantBad = append(wantBad, n)
		case n%1000 == 500:
			b.WriteString("garbage\n")
			wantBad = append(wantBad, n)
		default:
			fmt.Fprintf(&b, "2024-01-01T00:00:00,%d,GET /data/m/film+%d/%d.mpg\n", n%50, n%7, n%90)
		}
	}
	log, err := readMovielog(strings.NewReader(b.String()))
	if err != nil || log.Total != lines {
		t.Fatalf("err %v, %d lines, want %d", err, log.Total, lines)
	}
	if log.Bad.Count != len(wantBad) || len(log.Bad.First) != recommender.MaxReportedBadLines {
		t.Fatalf("bad %d (%d reported), want %d", log.Bad.Count, len(log.Bad.First), len(wantBad))
	}
	for i, e := range log.Bad.First {
		if e.Line != wantBad[i] {
			t.Fatalf("bad line %d is %d, want %d (%v)", i, e.Line, wantBad[i], log.Bad)
		}
	}
	if got := log.Lines["watch"]; got != lines-len(wantBad) {
		t.Errorf("%d watch lines, want %d", got, lines-len(wantBad))
	}
}

func TestMergeBadLines(t *testing.T) {
	var a, b recommender.BadLines
	for _, n := range []int{2, 9, 30} {
		a.Add(n, errors.New("long"))
	}
	for n := 1; n <= 12; n++ {
		b.Add(n*3, errors.New("parse"))
	}
	m := mergeBadLines(a, b)
	var got []int
	for _, e := range m.First {
		got = append(got, e.Line)
	}
	if m.Count != 15 || fmt.Sprint(got) != "[2 3 6 9 9 12 15 18 21 24]" {
		t.Fatalf("count %d, first %v", m.Count, got)
	}
}
