package recommender_test

import (
	"math"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func set(items ...string) map[string]struct{} {
	s := make(map[string]struct{}, len(items))
	for _, it := range items {
		s[it] = struct{}{}
	}
	return s
}

// log2of3 is log2(3); 1/log2of3 = 0.6309297535714575 is the discount at rank 2.
var log2of3 = math.Log2(3)

func TestRankingMetrics(t *testing.T) {
	tests := []struct {
		name           string
		recs           []string
		relevant       map[string]struct{}
		k              int
		ap, ndcg, p, r float64
	}{{
		// Hits at ranks 1 and 3 of 5; three relevant.
		// P = 2/5. R = 2/3. AP = (1/1 + 2/3) / min(3,5) = (5/3)/3 = 5/9 = 0.5556.
		// DCG = 1/log2(2) + 1/log2(4) = 1 + 0.5 = 1.5.
		// IDCG = 1 + 1/log2(3) + 1/log2(4) = 2.1309. nDCG = 1.5/2.1309 = 0.7039.
		name: "hits at 1 and 3", recs: []string{"a", "b", "c", "d", "e"}, relevant: set("a", "c", "f"), k: 5,
		ap: 5.0 / 9, ndcg: 1.5 / (1 + 1/log2of3 + 0.5), p: 2.0 / 5, r: 2.0 / 3,
	}, {
		// Only the top 2 count: [x a]; the hit on b at rank 3 is past k.
		// P = 1/2. R = 1/2. AP = (1/2) / min(2,2) = 0.25.
		// nDCG = (1/log2 3) / (1 + 1/log2 3) = 0.6309/1.6309 = 0.3869.
		name: "truncated at k", recs: []string{"x", "a", "b"}, relevant: set("a", "b"), k: 2,
		ap: 0.25, ndcg: (1 / log2of3) / (1 + 1/log2of3), p: 0.5, r: 0.5,
	}, {
		// More relevant items than k, all k slots hit.
		// P = 2/2 = 1. R = 2/4. AP = (1/1 + 2/2) / min(4,2) = 2/2 = 1
		// (Microsoft Recommenders' `map`, dividing by |relevant| = 4, gives 0.5).
		// IDCG keeps only the first k = 2 ideal ranks, so nDCG = 1.
		name: "more relevant than k", recs: []string{"a", "b"}, relevant: set("a", "b", "c", "d"), k: 2,
		ap: 1, ndcg: 1, p: 1, r: 0.5,
	}, {
		// A list shorter than k: precision still divides by k. P = 1/3, R = 1, AP = 1/1, nDCG = 1.
		name: "short list", recs: []string{"a"}, relevant: set("a"), k: 3,
		ap: 1, ndcg: 1, p: 1.0 / 3, r: 1,
	}, {
		// One hit at rank 2 of a top 10. P = 1/10. R = 1. AP = (1/2)/1 = 0.5. nDCG = 1/log2(3) = 0.6309.
		name: "hit at rank 2", recs: []string{"x", "a"}, relevant: set("a"), k: 10,
		ap: 0.5, ndcg: 1 / log2of3, p: 0.1, r: 1,
	}, {
		// A repeated hit counts once: as if the list were [a _ b]. P = 1/3, R = 1, AP = 1, nDCG = 1.
		name: "repeated hit", recs: []string{"a", "a", "b"}, relevant: set("a"), k: 3,
		ap: 1, ndcg: 1, p: 1.0 / 3, r: 1,
	}, {
		name: "no hits", recs: []string{"x", "y"}, relevant: set("a"), k: 10,
	}, {
		name: "nothing relevant", recs: []string{"a"}, relevant: set(), k: 10,
	}, {
		name: "k zero", recs: []string{"a"}, relevant: set("a"), k: 0,
	}, {
		name: "k negative", recs: []string{"a"}, relevant: set("a"), k: -1,
	}, {
		name: "empty list", recs: nil, relevant: set("a"), k: 10,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, m := range []struct {
				name      string
				got, want float64
			}{
				{"AveragePrecision", recommender.AveragePrecision(tt.recs, tt.relevant, tt.k), tt.ap},
				{"NDCGAtK", recommender.NDCGAtK(tt.recs, tt.relevant, tt.k), tt.ndcg},
				{"PrecisionAtK", recommender.PrecisionAtK(tt.recs, tt.relevant, tt.k), tt.p},
				{"RecallAtK", recommender.RecallAtK(tt.recs, tt.relevant, tt.k), tt.r},
			} {
				if math.Abs(m.got-m.want) > 1e-12 {
					t.Errorf("%s = %.6f, want %.6f", m.name, m.got, m.want)
				}
			}
		})
	}
}

// The hand-computed constants above, spelled out, so a typo in an expression
// cannot hide behind the same typo in the code.
func TestRankingMetricsDecimals(t *testing.T) {
	recs, rel := []string{"a", "b", "c", "d", "e"}, set("a", "c", "f")
	if got := recommender.NDCGAtK(recs, rel, 5); math.Abs(got-0.703918) > 1e-6 {
		t.Errorf("nDCG = %.6f, want 0.703918", got)
	}
	if got := recommender.AveragePrecision(recs, rel, 5); math.Abs(got-0.555556) > 1e-6 {
		t.Errorf("AP = %.6f, want 0.555556", got)
	}
}

func TestCoverage(t *testing.T) {
	tests := []struct {
		name                 string
		recommended, catalog map[string]struct{}
		want                 float64
	}{
		// a and b of four catalog items; z is not in the catalog and does not count. 2/4.
		{"half", set("a", "b", "z"), set("a", "b", "c", "d"), 0.5},
		{"all", set("a", "b"), set("a", "b"), 1},
		{"none", set(), set("a"), 0},
		{"empty catalog", set("a"), set(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recommender.Coverage(tt.recommended, tt.catalog); got != tt.want {
				t.Errorf("Coverage = %v, want %v", got, tt.want)
			}
		})
	}
}
