package recommender_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

var movieLensCases = []struct {
	name, in string
	want     []recommender.Interaction
}{
	{
		name: "u.data",
		in:   "196\t242\t3\t881250949\n186\t302\t3\t891717742\n",
		want: []recommender.Interaction{
			{User: "196", Item: "242", Weight: 3, Time: time.Unix(881250949, 0).UTC()},
			{User: "186", Item: "302", Weight: 3, Time: time.Unix(891717742, 0).UTC()},
		},
	},
	{
		name: "ratings.dat",
		in:   "1::1193::5::978300760\r\n1::661::3::978302109\r\n",
		want: []recommender.Interaction{
			{User: "1", Item: "1193", Weight: 5, Time: time.Unix(978300760, 0).UTC()},
			{User: "1", Item: "661", Weight: 3, Time: time.Unix(978302109, 0).UTC()},
		},
	},
	{
		name: "ratings.csv with header",
		in:   "userId,movieId,rating,timestamp\n1,307,3.5,1256677221\n\n1,481,0.5,1256677456\n",
		want: []recommender.Interaction{
			{User: "1", Item: "307", Weight: 3.5, Time: time.Unix(1256677221, 0).UTC()},
			{User: "1", Item: "481", Weight: 0.5, Time: time.Unix(1256677456, 0).UTC()},
		},
	},
	{
		name: "ratings.csv without header",
		in:   "7,8,4.0,0\n",
		want: []recommender.Interaction{{User: "7", Item: "8", Weight: 4, Time: time.Unix(0, 0).UTC()}},
	},
	{name: "empty", in: "", want: nil},
}

func TestReadMovieLens(t *testing.T) {
	for _, tc := range movieLensCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := recommender.ReadMovieLens(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("ReadMovieLens: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d interactions, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("interaction %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

var badMovieLensCases = []struct {
	name, in string
	line     int
	msg      string
}{
	{"not a layout", "hello world\n", 1, "not a MovieLens"},
	{"too few fields", "1\t2\t3\t4\n1\t2\t3\n", 2, "want 4 fields"},
	{"mixed layout", "1::2::3::4\n1,2,3,4\n", 2, "want 4 fields"},
	{"non-numeric user", "\n\nuserId,movieId,rating,timestamp\nx,2,3,4\n", 4, "user id"},
	{"non-numeric item", "1,abc,3,4\n", 1, "item id"},
	{"bad rating", "1\t2\tfive\t4\n", 1, "rating"},
	{"NaN rating", "1\t2\tNaN\t4\n", 1, "rating"},
	{"negative rating", "1::2::-1::4\n", 1, "rating"},
	{"bad timestamp", "1,2,3,yesterday\n", 1, "timestamp"},
	{"header twice", "userId,movieId,rating,timestamp\nuserId,movieId,rating,timestamp\n", 2, "user id"},
}

func TestReadMovieLensBadLines(t *testing.T) {
	for _, tc := range badMovieLensCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := recommender.ReadMovieLens(strings.NewReader(tc.in))
			if !errors.Is(err, recommender.ErrBadLine) {
				t.Fatalf("err = %v, want ErrBadLine", err)
			}
			var le *recommender.LineError
			if !errors.As(err, &le) || le.Line != tc.line {
				t.Fatalf("err = %v, want a LineError for line %d", err, tc.line)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to mention %q", err, tc.msg)
			}
		})
	}
}

func TestReadMovieLensLongLine(t *testing.T) {
	in := "1\t2\t3\t4\n" + strings.Repeat("9", 100<<10) + "\n"
	_, err := recommender.ReadMovieLens(strings.NewReader(in))
	var le *recommender.LineError
	if !errors.As(err, &le) || le.Line != 2 {
		t.Fatalf("err = %v, want a LineError for line 2", err)
	}
}

func FuzzReadMovieLens(f *testing.F) {
	for _, tc := range movieLensCases {
		f.Add(tc.in)
	}
	for _, tc := range badMovieLensCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := recommender.ReadMovieLens(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, recommender.ErrBadLine) {
				t.Fatalf("error %v does not wrap ErrBadLine", err)
			}
			return
		}
		for _, x := range got {
			if !recommender.IsUserID(x.User) || !recommender.IsUserID(x.Item) {
				t.Fatalf("accepted bad ids: %+v", x)
			}
			if x.Weight < 0 || x.Weight > 10 || x.Weight != x.Weight {
				t.Fatalf("accepted bad weight: %+v", x)
			}
		}
	})
}

func TestReadMovieLensReportSkipsBadLines(t *testing.T) {
	in := "1\t2\t3\t4\nbroken\n1\t3\t9\t4\n" + strings.Repeat("9", 100<<10) + "\n2\t2\t5\t6\n1\t2\tx\t4\n"
	got, bad, err := recommender.ReadMovieLensReport(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].User != "2" {
		t.Fatalf("got %+v, want the 3 good lines", got)
	}
	if bad.Count != 3 || bad.First[0].Line != 2 || bad.First[1].Line != 4 || bad.First[2].Line != 6 {
		t.Fatalf("bad = %v, want lines 2, 4 and 6", bad)
	}
	if _, err := recommender.ReadMovieLens(strings.NewReader(in)); !errors.Is(err, recommender.ErrBadLine) {
		t.Errorf("ReadMovieLens err = %v, want the first bad line", err)
	}
}
