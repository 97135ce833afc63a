package serve

import (
	"fmt"
	"testing"
)

func TestResultCacheBounded(t *testing.T) {
	c := newResultCache(64)
	hot := cacheKey{user: "hot"}
	c.put(hot, []byte("h"))
	for i := range 1000 {
		c.get(hot) // a hit spares it from the CLOCK hand
		c.put(cacheKey{user: fmt.Sprint(i), json: i%2 == 0}, []byte(fmt.Sprint(i)))
	}
	if n := c.len(); n > 64 || n < 32 {
		t.Fatalf("cache holds %d answers, want at most 64", n)
	}
	if b, ok := c.get(hot); !ok || string(b) != "h" {
		t.Errorf("hot entry evicted: %q %v", b, ok)
	}
	if b, ok := c.get(cacheKey{user: "999", json: true}); ok {
		t.Errorf("JSON key hit the text answer %q", b)
	}
	if b, ok := c.get(cacheKey{user: "999"}); !ok || string(b) != "999" {
		t.Errorf("latest answer missing: %q %v", b, ok)
	}
	var off *resultCache = newResultCache(0)
	off.put(hot, []byte("x"))
	if _, ok := off.get(hot); ok {
		t.Error("a disabled cache hit")
	}
}
