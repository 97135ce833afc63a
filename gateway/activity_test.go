package gateway_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/certs"
	"github.com/reelguard/reelguard/gateway"
	"github.com/reelguard/reelguard/gateway/ratelimit"
	"github.com/reelguard/reelguard/policy"
)

// newStackWithMonitor is newStack with the detectors of m, and limits
// roomy enough for one address to play several principals.
func newStackWithMonitor(t testing.TB, m *anomaly.Monitor) *stack {
	t.Helper()
	dir := t.TempDir()
	keys, ca, pol := filepath.Join(dir, "keys"), filepath.Join(dir, "ca"), filepath.Join(dir, "policy")
	must(t, ensure(auth.EnsureKeys, keys), ensure(certs.EnsureCA, ca), ensure(policy.Seed, pol))
	jwks, err := auth.LoadJWKS(filepath.Join(keys, "jwks.json"))
	must(t, err)
	signer, err := auth.LoadSigner(keys)
	must(t, err)
	engine, err := policy.NewEngine(context.Background(), pol, nil)
	must(t, err)
	roomy := ratelimit.Rate{PerSecond: 1e6, Burst: 1e6}
	gw, err := gateway.New(gateway.Config{Upstream: fakeRecommender(t), PreAuth: roomy,
		Tiers: map[string]ratelimit.Rate{"service": roomy}},
		gateway.Deps{Auth: auth.NewVerifier(jwks, auth.VerifierConfig{}), Policy: engine, Monitor: m})
	must(t, err)
	tlsConfig, err := certs.ServerTLSConfig(ca, nil)
	must(t, err)
	pool, err := certs.CAPool(ca)
	must(t, err)
	pub := listen(t)
	srv, err := gw.PublicServer(tlsConfig)
	must(t, err)
	go func() { _ = gw.ServePublic(srv, pub) }()
	t.Cleanup(func() { srv.Close(); gw.Close() })
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return &stack{url: "https://" + pub.Addr().String(), client: client, signer: signer, gw: gw}
}

// extractionAlertFor is the newest extraction alert about subject.
func extractionAlertFor(gw *gateway.Gateway, subject string) (anomaly.Alert, bool) {
	for _, a := range gw.Alerts().Recent(0) {
		if a.Kind == anomaly.KindExtraction && a.Subject == subject {
			return a, true
		}
	}
	return anomaly.Alert{}, false
}

// A front end reading for users who are watching (active in the movielog
// stream) is left alone; a service token reading for users who are not is
// flagged after about a hundred of them, long before the distinct count
// (1,500) would flag it.
func TestExtractionJudgesActivity(t *testing.T) {
	m, err := anomaly.NewMonitor(anomaly.DefaultConfig())
	must(t, err)
	now := time.Now()
	m.Activity.Observe("", now.Add(-time.Hour), now) // the stream followed for an hour
	for u := 1; u <= 200; u++ {
		m.Activity.Observe(fmt.Sprint(u), now.Add(-time.Minute), now)
	}
	s := newStackWithMonitor(t, m)
	frontend, scraper := s.token(t, "frontend", "service"), s.token(t, "scraper", "service")
	rng := rand.New(rand.NewPCG(1, 1))
	for range 300 {
		if code, _, _ := s.get(t, fmt.Sprintf("%s/recommend/%d", s.url, 1+rng.IntN(200)), frontend); code != http.StatusOK {
			t.Fatalf("front end refused: %d", code)
		}
	}
	if a, ok := extractionAlertFor(s.gw, "frontend"); ok {
		t.Fatalf("front end reading active users flagged: %v", a.Evidence)
	}
	flaggedAt := 0
	for i := 1; i <= 300 && flaggedAt == 0; i++ {
		s.get(t, fmt.Sprintf("%s/recommend/%d", s.url, 100_000+rng.IntN(900_000)), scraper)
		if _, ok := extractionAlertFor(s.gw, "scraper"); ok {
			flaggedAt = i
		}
	}
	a, _ := extractionAlertFor(s.gw, "scraper")
	if flaggedAt == 0 || flaggedAt > 110 || a.Evidence["reason"] != "inactive_targets" {
		t.Fatalf("scraper of inactive users flagged at request %d (0: never), evidence %v; want inactive_targets by 110",
			flaggedAt, a.Evidence)
	}
	if _, ok := extractionAlertFor(s.gw, "frontend"); ok {
		t.Errorf("front end flagged too")
	}
}
