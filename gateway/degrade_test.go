package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/gateway"
)

// TestDegradeObligation: a principal the policy marks degrade gets fewer
// items and no scores, in both formats, and the request log records what
// was served; other principals get full answers.
func TestDegradeObligation(t *testing.T) {
	s := newStack(t, gateway.Config{DegradedItems: 3}, nil)
	admin := s.token(t, "ops", "admin")
	code, body := s.put(t, s.admin+"/admin/policy?file=suspects.rego", admin, "text/plain",
		"package reelguard.authz\n\ndegrade if input.principal.sub == \"suspect\"\n")
	if code != http.StatusOK {
		t.Fatalf("policy edit: %d %s", code, body)
	}
	suspect, honest := s.token(t, "suspect", "service"), s.token(t, "frontend", "service")

	code, h, text := s.get(t, s.url+"/recommend/7", suspect)
	if ids := strings.Split(strings.TrimSpace(text), ","); code != http.StatusOK || len(ids) != 3 ||
		ids[0] != "movie+0+7" || h.Get("X-Reelguard-Degraded") != "true" {
		t.Fatalf("degraded text answer: %d %q (degraded header %q), want the first 3 ids", code, text, h.Get("X-Reelguard-Degraded"))
	}
	code, h, js := s.get(t, s.url+"/recommend/7", suspect, "Accept", "application/json")
	var a struct {
		Items    []map[string]any `json:"items"`
		Degraded bool             `json:"degraded"`
		User     string           `json:"user"`
	}
	if err := json.Unmarshal([]byte(js), &a); err != nil || code != http.StatusOK || len(a.Items) != 3 || !a.Degraded || a.User != "7" {
		t.Fatalf("degraded JSON answer: %d %s (%v)", code, js, err)
	}
	for _, it := range a.Items {
		if _, scored := it["score"]; scored || it["id"] == "" {
			t.Errorf("degraded item %v: want an id and no score", it)
		}
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("degraded JSON answer has Content-Type %q", ct)
	}

	code, h, text = s.get(t, s.url+"/recommend/7", honest)
	if n := len(strings.Split(strings.TrimSpace(text), ",")); code != http.StatusOK || n != 20 || h.Get("X-Reelguard-Degraded") != "" {
		t.Errorf("another principal: %d, %d items, degraded header %q; want 20 items", code, n, h.Get("X-Reelguard-Degraded"))
	}
	waitFor(t, func() bool { return len(s.sink.all()) >= 3 })
	first := s.sink.all()[0]
	if !strings.Contains(first.value, "result: movie+0+7, movie+1+7, movie+2+7, ") || strings.Contains(first.value, "movie+3+7") {
		t.Errorf("request log of the degraded answer: %q, want the 3 ids served", first.value)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
