package recommender_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func savedALS(tb testing.TB) (*recommender.Model, string) {
	tb.Helper()
	train, _ := plantedData(tb, 5)
	m, err := recommender.TrainALS(train, "als-1", smallALSConfig())
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(tb.TempDir(), "model")
	if err := recommender.Save(dir, m); err != nil {
		tb.Fatalf("Save: %v", err)
	}
	return m, dir
}

func TestALSSaveLoadRoundTrip(t *testing.T) {
	m, dir := savedALS(t)
	got, err := recommender.Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got.Meta(), m.Meta()) {
		t.Errorf("meta = %+v, want %+v", got.Meta(), m.Meta())
	}
	for u := 0; u <= 201; u++ { // 0 and 201 are unknown
		user := fmt.Sprint(u)
		for _, ex := range []bool{false, true} {
			if a, b := m.Recommend(user, 10, ex), got.Recommend(user, 10, ex); !reflect.DeepEqual(a, b) {
				t.Fatalf("user %s exclude=%v: loaded %v, trained %v", user, ex, b, a)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{recommender.FactorsFile, recommender.ArtifactFile}; !slices.Equal(names, want) {
		t.Errorf("dir holds %v, want %v", names, want)
	}
	// A popularity model saved over it takes the factors file away.
	if err := recommender.Save(dir, recommender.TrainPopularity(nil, "pop-2")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, recommender.FactorsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale factors file left behind: %v", err)
	}
}

func TestALSLoadRejects(t *testing.T) {
	_, dir := savedALS(t)
	factors, err := os.ReadFile(filepath.Join(dir, recommender.FactorsFile))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(dir, recommender.ArtifactFile))
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(factors)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name    string
		factors []byte // nil: no file
		edit    func(m map[string]any)
	}{
		{"truncated factors", factors[:len(factors)-4], nil},
		{"header only", factors[:40], nil},
		{"empty factors", []byte{}, nil},
		{"missing factors", nil, nil},
		{"flipped bit", flipped, nil},
		{"factors count edited", factors, func(m map[string]any) { m["als"].(map[string]any)["factors"] = 8 }},
		{"user dropped", factors, func(m map[string]any) {
			als := m["als"].(map[string]any)
			als["users"] = als["users"].([]any)[1:]
		}},
		{"items unsorted", factors, func(m map[string]any) {
			items := m["als"].(map[string]any)["items"].([]any)
			items[0], items[1] = items[1], items[0]
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			if tc.factors != nil {
				if err := os.WriteFile(filepath.Join(d, recommender.FactorsFile), tc.factors, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			body := meta
			if tc.edit != nil {
				var m map[string]any
				if err := json.Unmarshal(meta, &m); err != nil {
					t.Fatal(err)
				}
				tc.edit(m)
				body, _ = json.Marshal(m)
			}
			if err := os.WriteFile(filepath.Join(d, recommender.ArtifactFile), body, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := recommender.Load(d); !errors.Is(err, recommender.ErrBadArtifact) {
				t.Fatalf("Load = %v, want ErrBadArtifact", err)
			}
		})
	}
}
