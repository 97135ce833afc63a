package main

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/events"
)

func TestReadMovielogWeights(t *testing.T) {
	const head = "2024-01-01T00:00:0"
	lines := []string{
		head + "0,1,GET /create_account",
		head + "1,1,GET /data/m/a+1999/0.mpg",
		head + "2,1,GET /data/m/a+1999/1.mpg",
		head + "3,1,GET /data/m/a+1999/1.mpg", // a retry: same minute
		head + "4,1,GET /data/m/a+1999/2.mpg",
		head + "5,1,GET /data/m/b+1999/0.mpg",
		head + "6,1,GET /rate/b+1999=1", // disliked despite watching
		head + "7,2,GET /rate/a+1999=5", // rating alone
		head + "8,2,GET /data/m/c+1999/0.mpg",
		head + "9,2,GET /rate/c+1999=3",
		"2024-01-01T00:00:10,1,GET /rate/b+1999=2", // still a dislike
	}
	log, err := readMovielog(strings.NewReader(strings.Join(lines, "\n") + "\n"))
	if err != nil || log.Bad.Count != 0 {
		t.Fatalf("err %v, bad %v", err, log.Bad)
	}
	want := []struct {
		user, item string
		weight     float64
	}{
		{"1", "a+1999", math.Log1p(3)}, // 3 distinct minutes from 4 lines
		{"1", "b+1999", 0},
		{"2", "a+1999", 5},
		{"2", "c+1999", math.Log1p(1) + 1},
	}
	if len(log.Interactions) != len(want) {
		t.Fatalf("got %+v", log.Interactions)
	}
	for i, w := range want {
		x := log.Interactions[i]
		if x.User != w.user || x.Item != w.item || math.Abs(x.Weight-w.weight) > 1e-9 {
			t.Errorf("interaction %d = %+v, want %s %s weight %v", i, x, w.user, w.item, w.weight)
		}
	}
	if _, ok := log.Accounts["1"]; !ok || len(log.Accounts) != 1 || log.Lines[events.KindWatch] != 6 {
		t.Errorf("accounts %v, lines %v", log.Accounts, log.Lines)
	}
}

func TestPairWeightOrder(t *testing.T) {
	tests := []struct {
		name string
		more [2]int // minutes, rating
		less [2]int
	}{
		{"more minutes", [2]int{10, 0}, [2]int{2, 0}},
		{"a 5 over a 3", [2]int{1, 5}, [2]int{1, 3}},
		{"a 3 over a 2", [2]int{0, 3}, [2]int{100, 2}},
		{"watching over a 1", [2]int{1, 0}, [2]int{120, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if a, b := pairWeight(tc.more[0], tc.more[1]), pairWeight(tc.less[0], tc.less[1]); !(a > b) {
				t.Errorf("weight %v <= %v", a, b)
			}
		})
	}
	if w := pairWeight(120, 1); w != 0 {
		t.Errorf("a rating of 1 weighs %v, want 0", w)
	}
}

func TestReadMovielogBadLines(t *testing.T) {
	in := "2024-01-01T00:00:00,1,GET /data/m/a+1999/0.mpg\nnope\n\n2024-01-01T00:00:00,x,GET /create_account\n" +
		"2024-01-01T00:00:00,1,GET /rate/a+1999=9\n"
	log, err := readMovielog(strings.NewReader(in))
	if err != nil || len(log.Interactions) != 1 || log.Total != 5 {
		t.Fatalf("err %v, %d interactions, %d lines", err, len(log.Interactions), log.Total)
	}
	if log.Bad.Count != 3 || log.Bad.First[0].Line != 2 || log.Bad.First[1].Line != 4 || log.Bad.First[2].Line != 5 {
		t.Fatalf("bad = %v, want lines 2, 4, 5", log.Bad)
	}
	if !errors.Is(log.Bad.Err(), events.ErrInvalidLine) {
		t.Errorf("bad line reason %v does not wrap events.ErrInvalidLine", log.Bad.Err())
	}
}

func FuzzReadMovielog(f *testing.F) {
	f.Add("2024-01-01T00:00:00,1,GET /data/m/a+1999/0.mpg\n2024-01-01T00:00:00,1,GET /rate/a+1999=4\n")
	f.Add("garbage\n\n2024-01-01T00:00:00,1,GET /create_account\n")
	f.Fuzz(func(t *testing.T, in string) {
		log, err := readMovielog(strings.NewReader(in))
		if err != nil && log.Bad.Count == 0 {
			t.Fatalf("error %v without a bad line", err)
		}
		for _, x := range log.Interactions {
			if x.Weight < 0 || math.IsNaN(x.Weight) || math.IsInf(x.Weight, 0) || x.Item == "" {
				t.Fatalf("bad interaction %+v", x)
			}
		}
	})
}
