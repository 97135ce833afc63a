package gateway_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/gateway"
	"github.com/reelguard/reelguard/gateway/ratelimit"
)

func hasAlert(list []anomaly.Alert, kind anomaly.Kind) bool {
	for _, a := range list {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

// An admin token walking through other users' lists is extraction: first
// flagged (and degraded), then blocked once it goes far past the threshold.
func TestExtractionIsFlaggedThenBlocked(t *testing.T) {
	roomy := ratelimit.Rate{PerSecond: 1e6, Burst: 1e6}
	s := newStack(t, gateway.Config{PreAuth: roomy, Tiers: map[string]ratelimit.Rate{"admin": roomy}}, nil)
	scraper, admin := s.token(t, "scraper", "admin"), s.token(t, "ops", "admin")
	var blockedAt int
	for i := 1; i <= 200 && blockedAt == 0; i++ {
		code, h, body := s.get(t, fmt.Sprintf("%s/recommend/%d", s.url, 1000+i), scraper)
		switch {
		case code == http.StatusOK:
		case code == http.StatusForbidden && (errorReason(t, h, body) == "extraction_blocked" || errorReason(t, h, body) == "subject_blocked"):
			blockedAt = i
		default:
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	if blockedAt == 0 || blockedAt <= 21 {
		t.Fatalf("blocked at request %d; want a block, and not before the flag at 21 distinct users", blockedAt)
	}
	if !hasAlert(s.alerts(t, admin), anomaly.KindExtraction) {
		t.Error("no extraction alert")
	}
	// The block is on the shared list: the scraper's next request is refused
	// there, and an operator's own reads are unaffected.
	if code, h, body := s.get(t, s.url+"/recommend/1", scraper); code != http.StatusForbidden || errorReason(t, h, body) != "subject_blocked" {
		t.Errorf("scraper after the block: %d %s, want 403 subject_blocked", code, body)
	}
	if code, _, _ := s.get(t, s.url+"/recommend/ops", admin); code != http.StatusOK {
		t.Errorf("another admin: %d, want 200", code)
	}
	// A principal reading its own list never counts.
	own := s.token(t, "7", "user")
	for range 60 {
		if code, _, body := s.get(t, s.url+"/recommend/7", own); code == http.StatusForbidden {
			t.Fatalf("own reads refused: %s", body)
		}
	}
}

// A flood that the per-IP limit mostly refuses is flagged, and the address
// then gets 429 before any token work.
func TestFloodIsThrottled(t *testing.T) {
	s := newStack(t, gateway.Config{PreAuth: ratelimit.Rate{PerSecond: 1, Burst: 5}}, nil)
	var flagged bool
	for i := 0; i < 400 && !flagged; i++ {
		code, h, body := s.get(t, s.url+"/healthz", "")
		if code == http.StatusTooManyRequests && errorReason(t, h, body) == "flood_throttled" {
			flagged = true
		}
	}
	if !flagged {
		t.Fatal("400 requests, most refused by the per-IP limit, were never flagged as a flood")
	}
	if !hasAlert(s.alerts(t, s.token(t, "ops", "admin")), anomaly.KindDoS) {
		t.Error("no dos alert")
	}
}

// A service front end at its tier's rate from one address is not a flood.
func TestAuthenticatedTrafficIsNoFlood(t *testing.T) {
	roomy := ratelimit.Rate{PerSecond: 1e6, Burst: 1e6}
	s := newStack(t, gateway.Config{PreAuth: roomy, Tiers: map[string]ratelimit.Rate{"service": roomy}}, nil)
	svc := s.token(t, "frontend", "service")
	for i := range 400 {
		if code, _, body := s.get(t, fmt.Sprintf("%s/recommend/%d", s.url, i%10), svc); code != http.StatusOK {
			t.Fatalf("request %d of an authenticated front end: %d %s", i, code, body)
		}
	}
}

// In shadow mode the same scraper is judged and alerted on, with the
// would-be action in the evidence, but never throttled, degraded or blocked.
func TestShadowDetectorsOnlyAlert(t *testing.T) {
	roomy := ratelimit.Rate{PerSecond: 1e6, Burst: 1e6}
	s := newStack(t, gateway.Config{PreAuth: roomy, Tiers: map[string]ratelimit.Rate{"admin": roomy}, DetectorsShadow: true}, nil)
	scraper, admin := s.token(t, "scraper", "admin"), s.token(t, "ops", "admin")
	for i := 1; i <= 200; i++ {
		code, h, body := s.get(t, fmt.Sprintf("%s/recommend/%d", s.url, 1000+i), scraper)
		if code != http.StatusOK || h.Get("X-Reelguard-Degraded") != "" {
			t.Fatalf("request %d in shadow mode: %d %s (degraded %q)", i, code, body, h.Get("X-Reelguard-Degraded"))
		}
	}
	var shadowed bool
	for _, a := range s.alerts(t, admin) {
		if a.Kind == anomaly.KindExtraction && a.Action == anomaly.ActionNone && a.Evidence["shadow_action"] != nil {
			shadowed = true
		}
	}
	if !shadowed {
		t.Error("no extraction alert carrying its shadow_action")
	}
}
