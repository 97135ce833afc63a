package gateway

import (
	"net/http/httptest"
	"testing"
	"time"
)

// TestAnswerCacheKeepsBothCanaryArms: answers from a main model and its
// canary share one generation (X-Reelguard-Models), so neither empties
// the cache; a new set of live models does.
func TestAnswerCacheKeepsBothCanaryArms(t *testing.T) {
	c := newAnswerCache(time.Minute, 100)
	now := time.Now()
	answer := func(model, models string) *recorder {
		rec := newRecorder(httptest.NewRecorder(), requestLogCapture)
		rec.Header().Set(modelHeader, model)
		if models != "" {
			rec.Header().Set(modelsHeader, models)
		}
		_, _ = rec.Write([]byte("a,b\n"))
		return rec
	}
	c.put(answerKey{user: "1"}, answer("main-1", "main-1,canary-2"), now)
	c.put(answerKey{user: "2"}, answer("canary-2", "main-1,canary-2"), now)
	for _, user := range []string{"1", "2"} {
		if _, ok := c.get(answerKey{user: user}, now); !ok {
			t.Errorf("user %s's answer was dropped by the other arm's", user)
		}
	}
	if a, _ := c.get(answerKey{user: "2"}, now); a.model != "canary-2" {
		t.Errorf("user 2's cached answer names %q, want the canary", a.model)
	}
	c.put(answerKey{user: "3"}, answer("main-3", "main-3"), now) // a promotion: new live set
	if _, ok := c.get(answerKey{user: "1"}, now); ok {
		t.Error("an answer from the old models survived a model change")
	}
	c.put(answerKey{user: "4"}, answer("main-4", ""), now) // no canary header: the version itself
	if _, ok := c.get(answerKey{user: "3"}, now); ok {
		t.Error("an answer survived a version change without X-Reelguard-Models")
	}
}
