package gateway_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/gateway"
)

// jtiOf reads the jti claim of a token minted by the test signer.
func jtiOf(t testing.TB, token string) string {
	t.Helper()
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	must(t, err)
	var c struct{ JTI string }
	must(t, json.Unmarshal(payload, &c))
	if c.JTI == "" {
		t.Fatal("token has no jti")
	}
	return c.JTI
}

func (s *stack) put(t testing.TB, url, token, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.client.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, string(b)
}

func TestRevokedTokenIs401(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	user, admin := s.token(t, "42", "user"), s.token(t, "ops", "admin")
	if code, _, _ := s.get(t, s.url+"/recommend/42", user); code != http.StatusOK {
		t.Fatalf("before revocation: %d", code)
	}
	if code, body := s.put(t, s.admin+"/admin/revocations/42/"+jtiOf(t, user), user, "", ""); code != http.StatusForbidden {
		t.Errorf("a user revoking tokens: %d %s, want 403", code, body)
	}
	if code, body := s.put(t, s.admin+"/admin/revocations/42/"+jtiOf(t, user)+"?ttl=1h", admin, "", ""); code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", code, body)
	}
	code, h, body := s.get(t, s.url+"/recommend/42", user)
	if code != http.StatusUnauthorized || errorReason(t, h, body) != "token_revoked" {
		t.Errorf("revoked token: %d %s, want 401 token_revoked", code, body)
	}
	if code, _, _ := s.get(t, s.url+"/recommend/42", s.token(t, "42", "user")); code != http.StatusOK {
		t.Errorf("a fresh token after revoking another: %d", code)
	}
}

func TestBlocks(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	user, admin := s.token(t, "42", "user"), s.token(t, "ops", "admin")
	expect := func(what string, wantCode int, wantReason string) {
		t.Helper()
		code, h, body := s.get(t, s.url+"/recommend/42", user)
		if code != wantCode || (wantReason != "" && errorReason(t, h, body) != wantReason) {
			t.Errorf("%s: %d %s, want %d %s", what, code, body, wantCode, wantReason)
		}
	}
	for _, tc := range []struct{ path, reason string }{
		{"/admin/blocks/subject/42", "subject_blocked"},
		{"/admin/blocks/ip/127.0.0.1", "ip_blocked"},
	} {
		if code, body := s.put(t, s.admin+tc.path+"?ttl=1h", admin, "", ""); code != http.StatusNoContent {
			t.Fatalf("PUT %s: %d %s", tc.path, code, body)
		}
		expect("after PUT "+tc.path, http.StatusForbidden, tc.reason)
		_, _, list := s.get(t, s.admin+"/admin/blocks", admin)
		if !strings.Contains(list, strings.TrimPrefix(tc.path, "/admin/blocks/subject/")) && !strings.Contains(list, "127.0.0.1") {
			t.Errorf("GET /admin/blocks = %s, lacks %s", list, tc.path)
		}
		req, _ := http.NewRequest(http.MethodDelete, s.admin+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := s.client.Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE %s: %d", tc.path, resp.StatusCode)
		}
		expect("after DELETE "+tc.path, http.StatusOK, "")
	}
	for path, want := range map[string]int{"/admin/blocks/ip/not-an-ip": 400, "/admin/blocks/host/x": 404, "/admin/blocks/subject/42?ttl=1y": 400} {
		if code, _ := s.put(t, s.admin+path, admin, "", ""); code != want {
			t.Errorf("PUT %s: %d, want %d", path, code, want)
		}
	}
	if code, _ := s.put(t, s.admin+"/admin/blocks/subject/43", user, "", ""); code != http.StatusForbidden {
		t.Errorf("a user blocking: %d, want 403", code)
	}
}

func TestPutPolicyGoesThroughTheGate(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	admin, user := s.token(t, "ops", "admin"), s.token(t, "4242", "user")
	s.get(t, s.url+"/recommend/4242", user) // a decision to replay
	for deadline := time.Now().Add(10 * time.Second); len(s.decisions.Inputs()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the decision never reached the decision log")
		}
	}

	code, body := s.put(t, s.admin+"/admin/policy?file=broken.rego", admin, "text/plain", "package reelguard.authz\ndeny contains")
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "policy_rejected") {
		t.Fatalf("broken module: %d %s, want 422 policy_rejected", code, body)
	}
	_, _, status := s.get(t, s.admin+"/admin/policy", admin)
	if !strings.Contains(status, `"last_error":"`) {
		t.Errorf("status after a rejected edit: %s, want last_error set", status)
	}
	if code, _, _ := s.get(t, s.url+"/recommend/4242", user); code != http.StatusOK {
		t.Fatalf("the rejected edit changed decisions: %d", code)
	}

	// A veto that breaks the policy's own tests never goes live either.
	code, body = s.put(t, s.admin+"/admin/policy?file=all.rego", admin, "text/plain",
		"package reelguard.authz\n\ndeny contains \"maintenance\" if input.path[0] == \"recommend\"\n")
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "tests failed") {
		t.Fatalf("a veto failing the policy's tests: %d %s, want 422", code, body)
	}

	veto := `{"files":{"suspend.rego":"package reelguard.authz\n\ndeny contains \"subject_suspended\" if input.principal.sub == \"4242\"\n"}}`
	code, body = s.put(t, s.admin+"/admin/policy", admin, "application/json", veto)
	var rep struct {
		Applied      bool
		ChangedCount int `json:"changed_count"`
	}
	if err := json.Unmarshal([]byte(body), &rep); code != http.StatusOK || err != nil || !rep.Applied || rep.ChangedCount < 1 {
		t.Fatalf("veto edit: %d %s, want applied with the recorded decision changed", code, body)
	}
	code, h, body := s.get(t, s.url+"/recommend/4242", user)
	if code != http.StatusForbidden || errorReason(t, h, body) != "subject_suspended" {
		t.Errorf("after the veto: %d %s, want 403 subject_suspended", code, body)
	}
	if code, _, _ := s.get(t, s.url+"/recommend/42", s.token(t, "42", "user")); code != http.StatusOK {
		t.Errorf("another user after the veto: %d, want 200", code)
	}
}

func TestAttackTokensAre401(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	good := s.token(t, "42", "user")
	parts := strings.Split(good, ".")
	enc := func(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }
	kid := s.signer.KeyID()
	tests := []struct{ name, token, reason string }{
		{"alg none", enc(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + ".", "unknown_key"},
		{"alg none with our kid", enc(`{"alg":"none","kid":"`+kid+`"}`) + "." + parts[1] + ".", "bad_signature"},
		{"jku header", enc(`{"alg":"EdDSA","kid":"x","jku":"https://attacker.invalid/jwks"}`) + "." + parts[1] + "." + parts[2], "forbidden_header"},
		{"empty signature", parts[0] + "." + parts[1] + ".", "bad_signature"},
		{"payload swapped", parts[0] + "." + enc(`{"sub":"43","role":"admin"}`) + "." + parts[2], "bad_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := s.get(t, s.url+"/recommend/42", tt.token)
			if code != http.StatusUnauthorized {
				t.Fatalf("status %d (%s), want 401", code, body)
			}
			if got := errorReason(t, h, body); got != tt.reason {
				t.Errorf("reason %q, want %q", got, tt.reason)
			}
		})
	}
}
