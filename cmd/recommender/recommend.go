package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/reelguard/reelguard/recommender"
)

func runRecommend(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("recommend", stderr)
	dir := fs.String("model", "", "model directory (required)")
	k := fs.Int("k", 20, "items per user")
	excludeSeen := fs.Bool("exclude-seen", false, "skip items the user interacted with in training")
	keys := fs.String("keys", "", "keys directory holding model.pub, which verifies the model (default $REELGUARD_DATA/keys)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", *dir); err != nil {
		return err
	}
	if *k <= 0 {
		return fmt.Errorf("%w: recommend: --k must be positive", errUsage)
	}
	m, err := modelLoader(*keys)(*dir)
	if err != nil {
		return fmt.Errorf("recommend: %w", err)
	}
	return recommendLines(m, *k, *excludeSeen, stdin, stdout)
}

// recommendLines answers one user id per input line with
// "user<TAB>item,item,...". A line that is not a user id stops with an error
// naming it, so a typo is not silently answered with the popular list.
func recommendLines(m *recommender.Model, k int, excludeSeen bool, stdin io.Reader, stdout io.Writer) error {
	sc := bufio.NewScanner(stdin)
	bw := bufio.NewWriter(stdout)
	defer bw.Flush()
	ids := make([]string, 0, k)
	for n := 1; sc.Scan(); n++ {
		user := strings.TrimSpace(sc.Text())
		if user == "" {
			continue
		}
		if !recommender.IsUserID(user) {
			return fmt.Errorf("recommend: stdin line %d: user id must be a decimal integer", n)
		}
		ids = ids[:0]
		for _, s := range m.Recommend(user, k, excludeSeen) {
			ids = append(ids, s.Item)
		}
		fmt.Fprintf(bw, "%s\t%s\n", user, strings.Join(ids, ","))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("recommend: read stdin: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("recommend: write: %w", err)
	}
	return nil
}
