package recommender_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func TestReadUsers(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]recommender.UserInfo
	}{
		{"u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n", map[string]recommender.UserInfo{
			"1": {ID: "1", Age: 24, Gender: "M", Occupation: "technician"},
			"2": {ID: "2", Age: 53, Gender: "F", Occupation: "other"},
		}},
		{"users.dat", "1::F::1::10::48067\r\n2::M::56::16::70072\r\n", map[string]recommender.UserInfo{
			"1": {ID: "1", Age: 1, Gender: "F", Occupation: "k-12 student"},
			"2": {ID: "2", Age: 56, Gender: "M", Occupation: "self-employed"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, bad, err := recommender.ReadUsers(strings.NewReader(tc.in))
			if err != nil || bad.Count != 0 {
				t.Fatalf("err %v, bad %v", err, bad)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestReadItems(t *testing.T) {
	flags := func(set ...int) string {
		f := strings.Split(strings.Repeat("0|", 18)+"0", "|")
		for _, i := range set {
			f[i] = "1"
		}
		return strings.Join(f, "|")
	}
	tests := []struct {
		name, in string
		want     map[string]recommender.ItemInfo
	}{
		{"u.item latin-1", "1|Toy Story (1995)|01-Jan-1995||http://x|" + flags(3, 4, 5) + "\n" +
			"2|Les Mis\xe9rables (1995)|01-Jan-1995||http://y|" + flags(8) + "\n",
			map[string]recommender.ItemInfo{
				"1": {ID: "1", Title: "Toy Story (1995)", Genres: []string{"Animation", "Children's", "Comedy"}},
				"2": {ID: "2", Title: "Les Misérables (1995)", Genres: []string{"Drama"}},
			}},
		{"movies.dat latin-1", "1::Toy Story (1995)::Animation|Children's|Comedy\n73::Mis\xe9rables, Les (1995)::Drama|Musical\n",
			map[string]recommender.ItemInfo{
				"1":  {ID: "1", Title: "Toy Story (1995)", Genres: []string{"Animation", "Children's", "Comedy"}},
				"73": {ID: "73", Title: "Misérables, Les (1995)", Genres: []string{"Drama", "Musical"}},
			}},
		{"utf-8 kept", "5::Amélie (2001)::(no genres listed)\n",
			map[string]recommender.ItemInfo{"5": {ID: "5", Title: "Amélie (2001)"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, bad, err := recommender.ReadItems(strings.NewReader(tc.in))
			if err != nil || bad.Count != 0 {
				t.Fatalf("err %v, bad %v", err, bad)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestReadMetadataBadLines(t *testing.T) {
	users := "1|24|M|technician|85711\n1|30|F|writer|1\nx|1|M|a|1\n2|999|M|a|1\n3|20|Q|a|1\n\n4|20|F|writer|0\n5::F::1::99::1\n"
	got, bad, err := recommender.ReadUsers(strings.NewReader(users))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || bad.Count != 5 {
		t.Fatalf("got %d users and %d bad lines, want 2 and 5: %v", len(got), bad.Count, bad)
	}
	wantLines, wantWords := []int{2, 3, 4, 5, 8}, []string{"repeated", "user id", "age", "gender", "want 5 fields"}
	for i, e := range bad.First {
		if e.Line != wantLines[i] || !strings.Contains(e.Error(), wantWords[i]) || !errors.Is(&e, recommender.ErrBadLine) {
			t.Errorf("bad line %d = %v, want line %d mentioning %q", i, &e, wantLines[i], wantWords[i])
		}
	}
	items := "1::A (1990)::Drama\n2::::Drama\n3::B (1991)::Drama||War\n4|x\n"
	gotItems, bad, err := recommender.ReadItems(strings.NewReader(items))
	if err != nil || len(gotItems) != 1 || bad.Count != 3 || bad.First[2].Line != 4 {
		t.Fatalf("items %v, bad %v, err %v", gotItems, bad, err)
	}
	_, bad, err = recommender.ReadItems(strings.NewReader("garbage\nmore\n"))
	var le *recommender.LineError
	if !errors.As(err, &le) || le.Line != 1 || bad.Count != 2 {
		t.Fatalf("all bad: err %v, bad %v; want a LineError for line 1", err, bad)
	}
}

func TestBadLinesCapped(t *testing.T) {
	in := strings.Repeat("nonsense\n", 3*recommender.MaxReportedBadLines) + "1\t2\t3\t4\n"
	got, bad, err := recommender.ReadMovieLensReport(strings.NewReader(in))
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, err %v", got, err)
	}
	if bad.Count != 3*recommender.MaxReportedBadLines || len(bad.First) != recommender.MaxReportedBadLines {
		t.Fatalf("count %d, kept %d", bad.Count, len(bad.First))
	}
	if !strings.Contains(bad.String(), "more") {
		t.Errorf("String() = %q, want it to say more were skipped", bad.String())
	}
}

func FuzzReadUsers(f *testing.F) {
	for _, s := range []string{"1|24|M|technician|85711\n", "1::F::1::10::48067\n", "1|2|M|\xe9|3\n", "garbage\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, bad, err := recommender.ReadUsers(strings.NewReader(in))
		if err != nil && !errors.Is(err, recommender.ErrBadLine) {
			t.Fatalf("error %v does not wrap ErrBadLine", err)
		}
		for id, u := range got {
			if id != u.ID || !recommender.IsUserID(id) || (u.Gender != "M" && u.Gender != "F") || !utf8Valid(u.Occupation) {
				t.Fatalf("accepted bad user %+v", u)
			}
		}
		if len(bad.First) > recommender.MaxReportedBadLines || bad.Count < len(bad.First) {
			t.Fatalf("bad report %+v", bad)
		}
	})
}

func FuzzReadItems(f *testing.F) {
	for _, s := range []string{"1::Toy Story (1995)::Animation|Comedy\n", "2|Mis\xe9rables|d||u|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n", "x\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, _, err := recommender.ReadItems(strings.NewReader(in))
		if err != nil && !errors.Is(err, recommender.ErrBadLine) {
			t.Fatalf("error %v does not wrap ErrBadLine", err)
		}
		for id, it := range got {
			if id != it.ID || it.Title == "" || !utf8Valid(it.Title) {
				t.Fatalf("accepted bad item %+v", it)
			}
		}
	})
}
