package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// TestReadMovielogMinutesAndTimes: minutes past the bitmap count once each,
// out-of-order lines keep the latest time, and ids are stored once.
func TestReadMovielogMinutesAndTimes(t *testing.T) {
	var b strings.Builder
	for _, m := range []int{0, 255, 256, 1000, 1000, 300, 63, 64} {
		fmt.Fprintf(&b, "2024-01-01T00:00:%02d,7,GET /data/m/long+film/%d.mpg\n", m%60, m)
	}
	b.WriteString("2024-03-01T00:00:00.500000,7,GET /data/m/long+film/5.mpg\n")
	b.WriteString("2024-02-01T00:00:00,7,GET /rate/long+film=4\n") // earlier than the last watch
	log, err := readMovielog(strings.NewReader(b.String()))
	if err != nil || len(log.Interactions) != 1 {
		t.Fatalf("err %v, interactions %+v", err, log.Interactions)
	}
	x := log.Interactions[0]
	if want := pairWeight(8, 4); math.Abs(x.Weight-want) > 1e-12 { // 0 255 256 1000 300 63 64 5
		t.Errorf("weight %v, want %v (8 distinct minutes, rated 4)", x.Weight, want)
	}
	if want := time.Date(2024, 3, 1, 0, 0, 0, 5e8, time.UTC); !x.Time.Equal(want) || x.Time.Location() != time.UTC {
		t.Errorf("time %v, want %v UTC", x.Time, want)
	}
}

func TestIDTableInterns(t *testing.T) {
	tab := newIDTable()
	chunk := "12,34,12"
	var got []int32
	for _, s := range []string{chunk[0:2], chunk[3:5], chunk[6:8], chunk[6:8]} {
		id, err := tab.intern(s)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if fmt.Sprint(got) != "[0 1 0 0]" || fmt.Sprint(tab.names) != "[12 34]" {
		t.Fatalf("ids %v, names %v", got, tab.names)
	}
}
