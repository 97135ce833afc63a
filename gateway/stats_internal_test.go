package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/policy"
)

// tokenAuth takes "sub.role" for a token.
type tokenAuth struct{}

func (tokenAuth) VerifyContext(_ context.Context, tok string) (auth.Principal, error) {
	sub, role, _ := strings.Cut(tok, ".")
	return auth.Principal{Subject: sub, Role: role}, nil
}

// roleTier allows everything at the principal's role's tier.
type roleTier struct{}

func (roleTier) Decide(_ context.Context, in policy.Input) (policy.Decision, error) {
	return policy.Decision{Allow: true, Obligations: policy.Obligations{Tier: in.Principal.Role}}, nil
}

type fixedPolicy struct{ st policy.Status }

func (p fixedPolicy) Status() policy.Status { return p.st }

func (fixedPolicy) Propose(context.Context, map[string][]byte) (policy.Report, error) {
	return policy.Report{}, nil
}

// modelUpstream answers any recommendation as model version.
func modelUpstream(tb testing.TB, version string) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set(modelHeader, version)
		fmt.Fprintln(w, "a,b,c")
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// TestAdminStats: GET /admin/stats reports the model version the upstream
// last named, the top principals by requests and by distinct other users
// (own reads never among the latter), 429s by stage and the policy status.
func TestAdminStats(t *testing.T) {
	g, err := New(Config{Upstream: modelUpstream(t, "v9")}, Deps{Auth: tokenAuth{}, Policy: roleTier{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	h := g.Handler()
	get := func(path, token string) int {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = "192.0.2.10:1234"
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for i := range 30 {
		if code := get(fmt.Sprintf("/recommend/%d", 100+i), "frontend.service"); code != http.StatusOK {
			t.Fatalf("service request %d: %d", i, code)
		}
	}
	for range 12 { // past the user tier's burst of 10
		get("/recommend/7", "7.user")
	}
	errText := "compile error"
	pol := fixedPolicy{policy.Status{Revision: "rev-3", LastError: &errText}}
	w := httptest.NewRecorder()
	g.statsHandler(pol).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/admin/stats", nil))
	var got stats
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	if got.ModelVersion != "v9" || got.Policy == nil || got.Policy.Revision != "rev-3" || *got.Policy.LastError != errText {
		t.Errorf("model %q, policy %+v", got.ModelVersion, got.Policy)
	}
	if len(got.TopRequests) != 2 || got.TopRequests[0].Principal != "frontend" || got.TopRequests[0].Requests != 30 ||
		got.TopRequests[1].Principal != "7" || got.TopRequests[1].Requests != 12 || got.TopRequests[1].Role != "user" {
		t.Errorf("top by requests %+v", got.TopRequests)
	}
	if len(got.TopDistinct) != 1 || got.TopDistinct[0].Principal != "frontend" || got.TopDistinct[0].DistinctTargets != 30 {
		t.Errorf("top by distinct users %+v (own reads must not count)", got.TopDistinct)
	}
	if got.RateLimited["principal"] != 2 {
		t.Errorf("rate limited %v, want 2 by principal", got.RateLimited)
	}
}
