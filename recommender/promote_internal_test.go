package recommender

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogPromotionTakesBackFailedSwap(t *testing.T) {
	root := t.TempDir()
	ok := func() error { return nil }
	if err := logPromotion(root, &Promotion{From: "v1", To: "v2", By: "ops"}, ok); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(root, PromotionsFile))
	if err != nil || strings.Count(string(before), "\n") != 1 || !strings.Contains(string(before), `"to":"v2"`) {
		t.Fatalf("log after one promotion: %q, %v", before, err)
	}
	errSwap := errors.New("swap failed")
	long := strings.Repeat("x", 5000) + "\nsecond line"
	if err := logPromotion(root, &Promotion{From: "v2", To: "v3", Reason: long}, func() error { return errSwap }); !errors.Is(err, errSwap) {
		t.Fatalf("logPromotion with a failing swap = %v", err)
	}
	after, err := os.ReadFile(filepath.Join(root, PromotionsFile))
	if err != nil || string(after) != string(before) {
		t.Fatalf("a failed swap left %q in the log, want %q", after, before)
	}
	rec := &Promotion{To: "v3", Reason: long}
	if err := logPromotion(root, rec, ok); err != nil || len(rec.Reason) != maxPromotionText {
		t.Fatalf("reason of %d bytes logged as %d: %v", len(long), len(rec.Reason), err)
	}
	if after, _ := os.ReadFile(filepath.Join(root, PromotionsFile)); strings.Count(string(after), "\n") != 2 {
		t.Errorf("a reason with a newline broke the one-line-a-promotion log: %q", after)
	}
}
