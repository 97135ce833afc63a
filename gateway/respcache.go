package gateway

import (
	"cmp"
	"net/http"
	"sync"
	"time"
)

// modelHeader is the retrieval service's header naming the model version
// that produced an answer (recommender/serve.ModelHeader).
// Response headers the gateway reads or sets on recommendation answers.
const (
	modelHeader    = "X-Reelguard-Model"
	fallbackHeader = "X-Reelguard-Fallback"
	// modelsHeader lists the versions the retrieval service has live (its
	// main model and a canary): the cache's generation, so that answers
	// from the two arms of a canary do not keep emptying it.
	modelsHeader = "X-Reelguard-Models"
)

// answerCache keeps recent recommendation answers per (user, format) for a
// short time, consulted only after authentication, policy, limits and the
// detectors have let a request through. It empties itself when an answer
// names a model version other than the one its entries came from.
type answerCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	model   string
	entries map[answerKey]cachedAnswer
	// fetching has a channel per key whose answer one request is fetching
	// from the retrieval service, closed when that fetch ends: concurrent
	// misses for one user wait for its answer instead of asking again.
	fetching map[answerKey]chan struct{}
}

type answerKey struct {
	user string
	json bool
}

type cachedAnswer struct {
	body        []byte
	contentType string
	model       string
	expires     time.Time
}

func newAnswerCache(ttl time.Duration, max int) *answerCache {
	return &answerCache{ttl: ttl, max: max, entries: make(map[answerKey]cachedAnswer), fetching: make(map[answerKey]chan struct{})}
}

func (c *answerCache) get(k answerKey, now time.Time) (cachedAnswer, bool) {
	if c == nil {
		return cachedAnswer{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.entries[k]
	if !ok || now.After(a.expires) {
		return cachedAnswer{}, false
	}
	return a, true
}

// put keeps a complete 200 answer; a new model version empties the cache.
func (c *answerCache) put(k answerKey, rec *recorder, now time.Time) {
	h := rec.Header()
	model := h.Get(modelHeader)
	if c == nil || rec.status != http.StatusOK || model == "" || len(rec.body) >= rec.capture {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	generation := cmp.Or(h.Get(modelsHeader), model)
	if generation != c.model || len(c.entries) >= c.max {
		clear(c.entries) // the models changed, or the cache is full: start afresh
		c.model = generation
	}
	c.entries[k] = cachedAnswer{body: rec.body, contentType: h.Get("Content-Type"), model: model, expires: now.Add(c.ttl)}
}

// fetch makes the caller the one fetching k's answer (lead), unless a
// fetch of it is running: then wait is closed when that one ends. Without
// a cache every caller leads.
func (c *answerCache) fetch(k answerKey) (wait <-chan struct{}, lead bool) {
	if c == nil {
		return nil, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.fetching[k]; ok {
		return ch, false
	}
	c.fetching[k] = make(chan struct{})
	return nil, true
}

// fetched ends the fetch of k that the caller leads.
func (c *answerCache) fetched(k answerKey) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.fetching[k]; ok {
		close(ch)
		delete(c.fetching, k)
	}
}

// serve writes a cached answer.
func (a cachedAnswer) serve(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-store")
	h.Set(modelHeader, a.model)
	h.Set("X-Reelguard-Cache", "hit")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.body)
}
