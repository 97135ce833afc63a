package recommender_test

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// testKey is a fixed key pair; otherKey verifies nothing testKey signed.
func testKey(tb testing.TB) (ed25519.PrivateKey, ed25519.PublicKey) {
	tb.Helper()
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	return priv, priv.Public().(ed25519.PublicKey)
}

func otherKey(tb testing.TB) ed25519.PublicKey {
	tb.Helper()
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 1
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}

// saveSigned saves m flat into a new folder signed with testKey.
func saveSigned(tb testing.TB, m *recommender.Model) string {
	tb.Helper()
	priv, _ := testKey(tb)
	dir := filepath.Join(tb.TempDir(), "model")
	if err := recommender.Save(dir, m, recommender.SaveOptions{Key: priv}); err != nil {
		tb.Fatalf("Save: %v", err)
	}
	return dir
}

func dirNames(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// sameAnswers fails unless a and b recommend alike to every user listed.
func sameAnswers(tb testing.TB, a, b *recommender.Model, users []string) {
	tb.Helper()
	for _, user := range users {
		for _, ex := range []bool{false, true} {
			if x, y := a.Recommend(user, 10, ex), b.Recommend(user, 10, ex); !reflect.DeepEqual(x, y) {
				tb.Fatalf("user %s exclude=%v: loaded %v, trained %v", user, ex, y, x)
			}
			if a.Knows(user) != b.Knows(user) {
				tb.Fatalf("Knows(%s) differs", user)
			}
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := trainSmall(t)
	dir := saveSigned(t, m)
	_, pub := testKey(t)
	got, err := recommender.LoadVerified(dir, pub)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(got.Meta(), m.Meta()) {
		t.Errorf("meta = %+v, want %+v", got.Meta(), m.Meta())
	}
	sameAnswers(t, m, got, []string{"1", "2", "3", "4", "unknown"})
	want := []string{recommender.MetadataFile, recommender.ArtifactFile, recommender.SeenFile, recommender.SignatureFile}
	if names := dirNames(t, dir); !slices.Equal(names, want) {
		t.Errorf("dir holds %v, want %v (no temp files left)", names, want)
	}
}

func TestSaveRecordsProvenance(t *testing.T) {
	priv, pub := testKey(t)
	dir := t.TempDir()
	sum := strings.Repeat("ab", 32)
	opts := recommender.SaveOptions{Key: priv, DataSHA256: sum, Metrics: map[string]float64{"ndcg@10": 0.5}}
	if err := recommender.Save(dir, trainSmall(t), opts); err != nil {
		t.Fatal(err)
	}
	m, err := recommender.LoadWith(dir, recommender.LoadOptions{PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	if meta := m.Meta(); meta.DataSHA256 != sum || meta.Metrics["ndcg@10"] != 0.5 || meta.Users != 4 || meta.Interactions != 12 {
		t.Errorf("meta = %+v", meta)
	}
}

func TestSaveReplaces(t *testing.T) {
	_, dir := savedALS(t)
	priv, pub := testKey(t)
	if err := recommender.Save(dir, recommender.TrainPopularity(nil, "pop-2"), recommender.SaveOptions{Key: priv}); err != nil {
		t.Fatal(err)
	}
	got, err := recommender.LoadVerified(dir, pub)
	if err != nil || got.Version() != "pop-2" {
		t.Fatalf("Load after second Save = %v, %v; want pop-2", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, recommender.FactorsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale factors file left behind: %v", err)
	}
}

func TestLoadMissing(t *testing.T) {
	_, pub := testKey(t)
	if _, err := recommender.LoadVerified(t.TempDir(), pub); !errors.Is(err, recommender.ErrBadArtifact) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load of an empty dir = %v, want ErrBadArtifact and ErrNotExist", err)
	}
	old := t.TempDir() // an unsigned model.json from an earlier build
	if err := os.WriteFile(filepath.Join(old, recommender.ArtifactFile), []byte(`{"format":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := recommender.LoadVerified(old, pub); !errors.Is(err, recommender.ErrBadSignature) {
		t.Fatalf("Load of an unsigned model = %v, want ErrBadSignature", err)
	}
	if _, err := recommender.LoadWith(old, recommender.LoadOptions{KeysDir: t.TempDir()}); !errors.Is(err, recommender.ErrNoKey) {
		t.Fatalf("Load without a key = %v, want ErrNoKey", err)
	}
}
