package recommender_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	m := trainSmall(t)
	dir := filepath.Join(t.TempDir(), "model")
	if err := recommender.Save(dir, m); err != nil {
		t.Fatalf("Save: %v", err)
	}
	got, err := recommender.Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got.Meta(), m.Meta()) {
		t.Errorf("meta = %+v, want %+v", got.Meta(), m.Meta())
	}
	for _, user := range []string{"1", "2", "3", "4", "unknown"} {
		for _, ex := range []bool{false, true} {
			a, b := m.Recommend(user, 10, ex), got.Recommend(user, 10, ex)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("user %s exclude=%v: loaded %v, trained %v", user, ex, b, a)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != recommender.ArtifactFile {
		t.Errorf("dir holds %v, want only %s (no temp files left)", entries, recommender.ArtifactFile)
	}
}

func TestSaveReplaces(t *testing.T) {
	dir := t.TempDir()
	if err := recommender.Save(dir, trainSmall(t)); err != nil {
		t.Fatal(err)
	}
	if err := recommender.Save(dir, recommender.TrainPopularity(nil, "pop-2")); err != nil {
		t.Fatal(err)
	}
	m, err := recommender.Load(dir)
	if err != nil || m.Version() != "pop-2" {
		t.Fatalf("Load after second Save = %v, %v; want pop-2", m, err)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name, body string
		want       error
	}{
		{"not json", "{", recommender.ErrBadArtifact},
		{"unknown kind", `{"format":1,"kind":"nonesuch","version":"v"}`, recommender.ErrUnknownKind},
		{"als without factors", `{"format":1,"kind":"als","version":"v"}`, recommender.ErrBadArtifact},
		{"future format", `{"format":2,"kind":"popularity","version":"v"}`, recommender.ErrBadArtifact},
		{"no version", `{"format":1,"kind":"popularity"}`, recommender.ErrBadArtifact},
		{"duplicate item", `{"format":1,"kind":"popularity","version":"v","items":[{"id":"a","score":1},{"id":"a","score":1}]}`, recommender.ErrBadArtifact},
		{"empty item", `{"format":1,"kind":"popularity","version":"v","items":[{"id":"","score":1}]}`, recommender.ErrBadArtifact},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, recommender.ArtifactFile), []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := recommender.Load(dir); !errors.Is(err, tc.want) {
				t.Fatalf("Load = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := recommender.Load(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load of an empty dir = %v, want ErrNotExist", err)
	}
}

func TestLoadRestoresOrder(t *testing.T) {
	dir := t.TempDir()
	body := `{"format":1,"kind":"popularity","version":"v","items":[{"id":"b","score":0.1},{"id":"z","score":0.9},{"id":"a","score":0.1}]}`
	if err := os.WriteFile(filepath.Join(dir, recommender.ArtifactFile), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := recommender.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(items(m.Recommend("1", 3, false)), ","); got != "z,a,b" {
		t.Fatalf("order = %s, want z,a,b", got)
	}
}
