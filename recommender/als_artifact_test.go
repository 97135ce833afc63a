package recommender_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func trainALS(tb testing.TB, version string) *recommender.Model {
	tb.Helper()
	train, _ := plantedData(tb, 5)
	m, err := recommender.TrainALS(train, version, smallALSConfig())
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func savedALS(tb testing.TB) (*recommender.Model, string) {
	tb.Helper()
	m := trainALS(tb, "als-1")
	return m, saveSigned(tb, m)
}

func TestALSSaveLoadRoundTrip(t *testing.T) {
	m, dir := savedALS(t)
	_, pub := testKey(t)
	got, err := recommender.LoadVerified(dir, pub)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got.Meta(), m.Meta()) {
		t.Errorf("meta = %+v, want %+v", got.Meta(), m.Meta())
	}
	users := []string{"0", "201"} // unknown
	for u := 1; u <= 200; u++ {
		users = append(users, fmt.Sprint(u))
	}
	sameAnswers(t, m, got, users)
	want := []string{recommender.FactorsFile, recommender.MetadataFile, recommender.ArtifactFile, recommender.SeenFile, recommender.SignatureFile}
	if names := dirNames(t, dir); !slices.Equal(names, want) {
		t.Errorf("dir holds %v, want %v", names, want)
	}
	if _, err := recommender.LoadVerified(filepath.Join(dir), otherKey(t)); err == nil {
		t.Error("loaded under another key")
	}
}
