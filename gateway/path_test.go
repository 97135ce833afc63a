package gateway_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/gateway"
	"github.com/reelguard/reelguard/gateway/ratelimit"
)

func TestOwnRecommendations(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	tok := s.token(t, "42", "user")

	code, h, body := s.get(t, s.url+"/recommend/42", tok)
	if code != http.StatusOK {
		t.Fatalf("GET /recommend/42 = %d %s", code, body)
	}
	ids := strings.Split(strings.TrimSpace(body), ",")
	if len(ids) != 20 || ids[0] != "movie+0+42" {
		t.Errorf("body = %q, want 20 comma-separated ids for user 42", body)
	}
	for _, name := range []string{"X-Content-Type-Options", "Strict-Transport-Security", "Referrer-Policy", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if n := len(h.Values(name)); n != 1 { // the recommender sets nosniff too
			t.Errorf("response has %d %s headers, want 1", n, name)
		}
	}
	if got := h.Get("X-Seen-Subject"); got != "42" {
		t.Errorf("upstream saw subject %q, want 42", got)
	}
	if got := h.Get("X-Seen-Authorization"); got != "" {
		t.Errorf("upstream saw the client's Authorization header %q", got)
	}

	code, h, body = s.get(t, s.url+"/recommend/42", tok, "Accept", "application/json")
	var doc struct {
		User  string `json:"user"`
		Items []struct {
			ID    string
			Score float64
		}
		Model    string `json:"model"`
		Fallback *bool  `json:"fallback"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || code != http.StatusOK {
		t.Fatalf("JSON answer %d %q: %v", code, body, err)
	}
	if doc.User != "42" || len(doc.Items) != 20 || doc.Model == "" || doc.Fallback == nil || *doc.Fallback {
		t.Errorf("JSON answer = %+v", doc)
	}
}

func TestSpoofedIdentityHeadersAreReplaced(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	_, h, _ := s.get(t, s.url+"/recommend/42", s.token(t, "42", "user"), "X-Reelguard-Subject", "1")
	if got := h.Get("X-Seen-Subject"); got != "42" {
		t.Errorf("upstream saw subject %q, want the token's 42", got)
	}
}

func TestDenials(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	other := newStack(t, gateway.Config{}, nil) // a different key pair
	expired, err := s.signer.MintAt("42", "user", time.Now().Add(-2*time.Hour), time.Hour)
	must(t, err)
	user42 := s.token(t, "42", "user")
	tests := []struct {
		name, path, token string
		header            []string
		code              int
		reason            string
	}{
		{"another user's list", "/recommend/43", user42, nil, 403, "not_own_user"},
		{"no token", "/recommend/42", "", nil, 401, "missing_token"},
		{"malformed token", "/recommend/42", "not-a-jwt", nil, 401, "malformed_token"},
		{"expired token", "/recommend/42", expired, nil, 401, "token_expired"},
		{"token of another key", "/recommend/42", other.token(t, "42", "user"), nil, 401, "unknown_key"},
		{"basic auth", "/recommend/42", "", []string{"Authorization", "Basic YTpi"}, 401, "missing_token"},
		{"unknown role", "/recommend/42", s.token(t, "42", "superuser"), nil, 403, "unknown_role"},
		{"ingest role reading recommendations", "/recommend/42", s.token(t, "svc", "ingest"), nil, 403, "default_deny"},
		{"unknown route", "/nope", user42, nil, 404, "not_found"},
		{"unknown route without token", "/admin/alerts", "", nil, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := s.get(t, s.url+tt.path, tt.token, tt.header...)
			if code != tt.code {
				t.Fatalf("status = %d, want %d (%s)", code, tt.code, body)
			}
			if got := errorReason(t, h, body); got != tt.reason {
				t.Errorf("reason = %q, want %q", got, tt.reason)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("error response lacks nosniff")
			}
		})
	}
}

func TestPostToRecommendIs405(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	resp, err := s.client.Post(s.url+"/recommend/42", "text/plain", strings.NewReader("x"))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /recommend/42 = %d, want 405", resp.StatusCode)
	}
}

func TestUserTierBurstThen429(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	tok := s.token(t, "42", "user")
	burst := gateway.DefaultTiers()["user"].Burst
	var allowed, limited int
	var retry string
	for range burst + 5 {
		code, h, _ := s.get(t, s.url+"/recommend/42", tok)
		switch code {
		case http.StatusOK:
			allowed++
		case http.StatusTooManyRequests:
			limited++
			retry = h.Get("Retry-After")
		default:
			t.Fatalf("unexpected status %d", code)
		}
	}
	// The tier refills 5/s: a slow machine may earn a request or two back.
	if allowed < burst || allowed > burst+2 || limited == 0 {
		t.Errorf("allowed %d, limited %d of %d; want the burst %d then 429s", allowed, limited, burst+5, burst)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 {
		t.Errorf("Retry-After = %q, want whole seconds >= 1", retry)
	}
}

func TestPreAuthIPLimitShieldsVerification(t *testing.T) {
	s := newStack(t, gateway.Config{PreAuth: ratelimitRate(1, 3)}, nil)
	var limited int
	for range 8 {
		code, h, body := s.get(t, s.url+"/recommend/42", "")
		if code == http.StatusTooManyRequests {
			limited++
			if got := errorReason(t, h, body); got != "ip_rate_limited" {
				t.Errorf("reason = %q, want ip_rate_limited", got)
			}
		}
	}
	if limited < 4 {
		t.Errorf("%d of 8 unauthenticated requests limited per IP; want at least 4 past a burst of 3", limited)
	}
}

func TestUpstreamDownIs503(t *testing.T) {
	l := listen(t)
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	s := newStack(t, gateway.Config{Upstream: "http://" + addr, UpstreamTimeout: time.Second}, nil)
	code, h, body := s.get(t, s.url+"/recommend/42", s.token(t, "42", "user"))
	if code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", code)
	}
	if got := errorReason(t, h, body); got != "upstream_unavailable" {
		t.Errorf("reason = %q", got)
	}
	if strings.Contains(body, addr) {
		t.Errorf("error body leaks the upstream address: %s", body)
	}
}

func TestSlowUpstreamTimesOutWith503(t *testing.T) {
	l := listen(t)
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { close(release); srv.Close() })
	s := newStack(t, gateway.Config{Upstream: "http://" + l.Addr().String(), UpstreamTimeout: 200 * time.Millisecond}, nil)
	code, h, body := s.get(t, s.url+"/recommend/42", s.token(t, "42", "user"))
	if code != http.StatusServiceUnavailable || errorReason(t, h, body) != "upstream_unavailable" {
		t.Errorf("slow upstream: %d %s, want 503 upstream_unavailable", code, body)
	}
}

func TestRequestLogRecordsEachAnsweredRequest(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	tok := s.token(t, "42", "user")
	s.get(t, s.url+"/recommend/42", tok)
	s.get(t, s.url+"/recommend/42", tok, "Accept", "application/json")
	s.get(t, s.url+"/recommend/43", tok) // denied: not answered by the recommender
	s.gw.Close()                         // drains the request log

	recs := s.sink.all()
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2: %+v", len(recs), recs)
	}
	for _, r := range recs {
		ev, err := events.ParseLine(r.value)
		if err != nil {
			t.Fatalf("record %q is not a course line: %v", r.value, err)
		}
		if r.topic != "recommendations" || r.key != "42" || ev.User != "42" || ev.Status != 200 || len(ev.Result) != 20 {
			t.Errorf("record %+v parsed as %+v", r, ev)
		}
	}
}

func TestAdminListener(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	s.get(t, s.url+"/recommend/42", s.token(t, "42", "user"))

	code, _, body := s.get(t, s.admin+"/metrics", "")
	if code != http.StatusOK || !strings.Contains(body, "reelguard_http_requests_total") {
		t.Errorf("/metrics = %d, lacks reelguard_http_requests_total", code)
	}
	if code, _, _ := s.get(t, s.admin+"/admin/policy", s.token(t, "42", "user")); code != http.StatusForbidden {
		t.Errorf("/admin/policy as a user = %d, want 403", code)
	}
	code, _, body = s.get(t, s.admin+"/admin/policy", s.token(t, "ops", "admin"))
	var st map[string]any
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != http.StatusOK {
		t.Fatalf("/admin/policy as admin = %d %q", code, body)
	}
	for _, k := range []string{"revision", "loaded_at", "last_error"} {
		if _, ok := st[k]; !ok {
			t.Errorf("/admin/policy lacks %q: %s", k, body)
		}
	}
}

func TestAbsentBrokerNeverFailsARequest(t *testing.T) {
	dead := listen(t)
	brokerAddr := dead.Addr().String()
	dead.Close()
	keys := t.TempDir()
	_, err := events.EnsureKeys(keys)
	must(t, err)
	signer, err := events.LoadSigner(keys)
	must(t, err)
	producer, err := events.NewProducer(events.ProducerConfig{Brokers: []string{brokerAddr}, Signer: signer, Buffer: 4})
	must(t, err)
	t.Cleanup(func() { _ = producer.Close() })

	// A request log of two slots in front of a producer that can never
	// deliver: every request must still be answered.
	unlimited := ratelimitRate(1e9, 1e9)
	s := newStackWithSink(t, gateway.Config{RequestLogBuffer: 2, Tiers: map[string]ratelimit.Rate{"service": unlimited}},
		nil, producer)
	tok := s.token(t, "svc", "service")
	for i := range 50 {
		if code, _, body := s.get(t, s.url+"/recommend/42", tok); code != http.StatusOK {
			t.Fatalf("request %d with the broker down: %d %s", i, code, body)
		}
	}
	if st := producer.Stats(); st.Sent != 0 {
		t.Errorf("producer stats %+v: a record reached a broker that is not there", st)
	}
}
