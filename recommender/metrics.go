package recommender

import (
	"math"
	"slices"
)

// The ranking metrics below score one user's top-k list (best first) against
// the set of items held out for that user, with binary relevance: a held-out
// item is relevant, anything else is not. They follow the definitions of
// Microsoft Recommenders' python_evaluation (precision_at_k, recall_at_k,
// ndcg_at_k, map_at_k) so that our numbers sit beside their published tables.
// Only the first k entries of recs count; an empty relevant set scores 0.

// PrecisionAtK is the share of the k slots that hold a relevant item. It divides
// by k even when recs is shorter, as Microsoft Recommenders does: a model that
// cannot fill its list is not rewarded for it.
func PrecisionAtK(recs []string, relevant map[string]struct{}, k int) float64 {
	if k <= 0 || len(relevant) == 0 {
		return 0
	}
	return float64(hits(recs, relevant, k)) / float64(k)
}

// RecallAtK is the share of the relevant items found in the top k. It cannot
// reach 1 when there are more than k relevant items.
func RecallAtK(recs []string, relevant map[string]struct{}, k int) float64 {
	if k <= 0 || len(relevant) == 0 {
		return 0
	}
	return float64(hits(recs, relevant, k)) / float64(len(relevant))
}

// NDCGAtK is DCG@k over the ideal DCG@k, with gain 1 for a relevant item at
// 1-based rank r discounted by log2(r+1). The ideal list puts min(|relevant|, k)
// relevant items first. The log base cancels in the ratio, so this equals
// Microsoft Recommenders' ndcg_at_k with its default natural-log discount.
func NDCGAtK(recs []string, relevant map[string]struct{}, k int) float64 {
	if k <= 0 || len(relevant) == 0 {
		return 0
	}
	var dcg, ideal float64
	for i, hit := range hitRanks(recs, relevant, k) {
		if hit {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := range min(k, len(relevant)) {
		ideal += 1 / math.Log2(float64(i+2))
	}
	return dcg / ideal
}

// AveragePrecision is the per-user term of MAP@k: the precision at each rank
// that holds a relevant item, summed over the top k, divided by
// min(|relevant|, k), so a user whose top k are all relevant scores 1 however
// many items they held out.
//
// This is Spark MLlib's meanAveragePrecisionAt(k) and Microsoft Recommenders'
// current map_at_k. Their other function, map (the older map_at_k before it
// was renamed), divides by |relevant| instead; it gives a smaller number
// whenever a user has more than k relevant items, so compare MAP only with
// tables that state the same normalization (nDCG@k has no such ambiguity).
func AveragePrecision(recs []string, relevant map[string]struct{}, k int) float64 {
	if k <= 0 || len(relevant) == 0 {
		return 0
	}
	var sum float64
	found := 0
	for i, hit := range hitRanks(recs, relevant, k) {
		if hit {
			found++
			sum += float64(found) / float64(i+1)
		}
	}
	return sum / float64(min(len(relevant), k))
}

// Coverage is catalog coverage: the share of the catalog's items that were
// recommended to at least one user. recommended items outside the catalog are
// ignored; an empty catalog gives 0.
func Coverage(recommended, catalog map[string]struct{}) float64 {
	if len(catalog) == 0 {
		return 0
	}
	n := 0
	for item := range recommended {
		if _, ok := catalog[item]; ok {
			n++
		}
	}
	return float64(n) / float64(len(catalog))
}

// hits counts the relevant items among the first k of recs.
func hits(recs []string, relevant map[string]struct{}, k int) int {
	n := 0
	for _, hit := range hitRanks(recs, relevant, k) {
		if hit {
			n++
		}
	}
	return n
}

// hitRanks marks which of the first k ranks hold a relevant item. A repeated
// item counts only where it first appears, so no metric can exceed 1 on a
// list that repeats a hit (Model.Recommend never repeats; other callers might).
func hitRanks(recs []string, relevant map[string]struct{}, k int) []bool {
	top := recs[:max(0, min(k, len(recs)))]
	marks := make([]bool, len(top))
	for i, item := range top {
		if _, ok := relevant[item]; ok && !slices.Contains(top[:i], item) {
			marks[i] = true
		}
	}
	return marks
}
