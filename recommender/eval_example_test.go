package recommender_test

import (
	"fmt"

	"github.com/reelguard/reelguard/recommender"
)

// Thirty users share four movies; the split holds one out for each, and
// popularity, which never repeats what a user saw in training, finds it first.
func ExampleEvaluate() {
	var in []recommender.Interaction
	for u := range 30 {
		for _, movie := range []string{"alien+1979", "heat+1995", "up+2009", "jaws+1975"} {
			in = append(in, recommender.Interaction{User: fmt.Sprint(u), Item: movie, Weight: 1})
		}
	}
	algos := map[string]recommender.TrainFunc{
		"popularity": func(train []recommender.Interaction) (*recommender.Model, error) {
			return recommender.TrainPopularity(train, "example"), nil
		},
	}
	results, err := recommender.Evaluate(in, algos, nil, recommender.EvalConfig{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Printf("%s: %d users, MAP %.2f, nDCG@10 %.2f, P@10 %.2f, R@10 %.2f\n",
			r.Algo, r.Users, r.MAP, r.NDCG, r.Precision, r.Recall)
	}
	// Output:
	// popularity: 30 users, MAP 1.00, nDCG@10 1.00, P@10 0.10, R@10 1.00
}

// One user's top 5 against the three movies they held out: hits at ranks 1 and 3.
func ExampleAveragePrecision() {
	top := []string{"alien+1979", "heat+1995", "up+2009", "jaws+1975", "big+1988"}
	heldOut := map[string]struct{}{"alien+1979": {}, "up+2009": {}, "tron+1982": {}}
	fmt.Printf("AP@5 %.4f  nDCG@5 %.4f  P@5 %.2f  R@5 %.4f\n",
		recommender.AveragePrecision(top, heldOut, 5), recommender.NDCGAtK(top, heldOut, 5),
		recommender.PrecisionAtK(top, heldOut, 5), recommender.RecallAtK(top, heldOut, 5))
	// Output:
	// AP@5 0.5556  nDCG@5 0.7039  P@5 0.40  R@5 0.6667
}
