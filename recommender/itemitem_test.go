package recommender_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// itemModels trains the item-based kinds on the planted data.
func itemModels(tb testing.TB, train []recommender.Interaction) map[string]*recommender.Model {
	tb.Helper()
	ease, err := recommender.TrainEASE(train, "ease-1", recommender.EASEConfig{Lambda: 20})
	if err != nil {
		tb.Fatal(err)
	}
	knn, err := recommender.TrainItemKNN(train, "knn-1", recommender.KNNConfig{Neighbors: 40})
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]*recommender.Model{"ease": ease, "itemknn": knn}
}

// Item-based models must find the groups popularity cannot see, by the same
// margin ALS must (TestALSRecoversPlantedStructure).
func TestItemModelsRecoverPlantedStructure(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		train, test := plantedData(t, seed)
		rp := recallAt10(recommender.TrainPopularity(train, "pop-1"), test)
		for name, m := range itemModels(t, train) {
			r := recallAt10(m, test)
			t.Logf("seed %d: recall@10 %s %.3f, popularity %.3f", seed, name, r, rp)
			if r < 2*rp || r < rp+0.2 {
				t.Errorf("seed %d: recall@10 %s %.3f vs popularity %.3f; want >= 2x and +0.2", seed, name, r, rp)
			}
		}
	}
}

func TestItemModelsSaveLoadAndTamper(t *testing.T) {
	train, _ := plantedData(t, 5)
	users := []string{"0", "201"} // unknown
	for u := 1; u <= 200; u++ {
		users = append(users, fmt.Sprint(u))
	}
	_, pub := testKey(t)
	for name, m := range itemModels(t, train) {
		t.Run(name, func(t *testing.T) {
			dir := saveSigned(t, m)
			got, err := recommender.LoadVerified(dir, pub)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if got.Meta().Kind != m.Meta().Kind {
				t.Errorf("kind %q, want %q", got.Meta().Kind, m.Meta().Kind)
			}
			sameAnswers(t, m, got, users)

			path := filepath.Join(dir, recommender.ItemItemFile)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 1
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := recommender.LoadVerified(dir, pub); !errors.Is(err, recommender.ErrBadArtifact) {
				t.Errorf("a flipped weight byte loaded: %v", err)
			}
		})
	}
}
