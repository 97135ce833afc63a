package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/events"
)

// userRate is the user tier the e2e gateways run with: DESIGN.md's burst of
// 10, refilled slowly, so a shared limit and two separate ones differ by far
// more than a noisy machine's timing can blur.
const (
	userBurst = 10
	userRate  = 0.5
)

type e2eStack struct {
	data        string
	gateways    []string // public base URLs
	admins      []string // admin base URLs
	recommender *proc
	client      *http.Client
	env         []string
}

// newStack trains a model on synthetic data and starts the recommender and
// three gateways that share one data folder, one Redis and one broker.
func newStack(t *testing.T) *e2eStack {
	t.Helper()
	data := t.TempDir()
	env := []string{"REELGUARD_DATA=" + data, "REELGUARD_REDIS_URL=" + redisURL, "REELGUARD_KAFKA_BROKERS=" + brokers}
	run(t, env, "gateway", "keys")
	log := filepath.Join(data, "movielog.log")
	run(t, env, "recommender", "gen", "--out", log)
	run(t, env, "recommender", "train", "--data", log, "--format", "movielog", "--out", filepath.Join(data, "model"))

	recAddr := addr(t)
	rec := start(t, env, "recommender", "serve", "--model", filepath.Join(data, "model"), "--listen", recAddr)
	waitOK(t, http.DefaultClient, "http://"+recAddr+"/readyz", rec)

	conf := filepath.Join(data, "gateway.yaml")
	yaml := fmt.Sprintf("upstream_timeout: 2s\ntiers:\n  user: {rate: %g, burst: %d}\n", userRate, userBurst)
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &e2eStack{data: data, recommender: rec, client: tlsClient(t, data, 10*time.Second), env: env}
	for i := range 3 {
		listen, admin := addr(t), addr(t)
		gw := start(t, append(env, "REELGUARD_LISTEN="+listen, "REELGUARD_ADMIN_LISTEN="+admin,
			"REELGUARD_UPSTREAM=http://"+recAddr, fmt.Sprintf("REELGUARD_INSTANCE=e2e-gw-%d", i)),
			"gateway", "serve", "--config", conf)
		waitOK(t, s.client, "https://"+listen+"/healthz", gw)
		s.gateways = append(s.gateways, "https://"+listen)
		s.admins = append(s.admins, "http://"+admin)
	}
	return s
}

func (s *e2eStack) token(t *testing.T, sub, role string) string {
	t.Helper()
	tok := strings.TrimSpace(run(t, s.env, "gateway", "token", "--sub", sub, "--role", role))
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \n") {
		t.Fatalf("gateway token printed %q, want one JWT", tok)
	}
	return tok
}

func (s *e2eStack) get(t *testing.T, url, token, accept string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// status is get for goroutines: it reports a failed request instead of failing.
func (s *e2eStack) status(url, token string) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// uniqueUser keeps this run's records apart from earlier runs' on a shared broker.
func uniqueUser() string { return fmt.Sprint(1_000_000 + rand.IntN(1_000_000_000)) }

func TestStack(t *testing.T) {
	s := newStack(t)

	t.Run("own recommendations through TLS, JWT, policy and the recommender", func(t *testing.T) {
		user := uniqueUser()
		tok := s.token(t, user, "user")
		code, body := s.get(t, s.gateways[0]+"/recommend/"+user, tok, "")
		ids := strings.Split(strings.TrimSpace(body), ",")
		if code != http.StatusOK || len(ids) != 20 {
			t.Fatalf("%d %q: want 200 and 20 ids", code, body)
		}
		code, body = s.get(t, s.gateways[1]+"/recommend/"+user, tok, "application/json")
		var doc struct {
			User  string
			Items []struct {
				ID    string
				Score float64
			}
			Model    string
			Fallback bool
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil || code != 200 || doc.User != user || len(doc.Items) != 20 || doc.Model == "" {
			t.Fatalf("JSON answer %d %q (%v)", code, body, err)
		}
		if code, _ := s.get(t, s.gateways[0]+"/recommend/1", tok, ""); code != http.StatusForbidden {
			t.Errorf("another user's list = %d, want 403", code)
		}
	})

	t.Run("three gateway processes sharing Redis enforce one limit", func(t *testing.T) {
		user := uniqueUser()
		tok := s.token(t, user, "user")
		var allowed, limited atomic.Int32
		var wg sync.WaitGroup
		began := time.Now()
		for i := range 3 * userBurst {
			wg.Go(func() {
				switch code, err := s.status(s.gateways[i%len(s.gateways)]+"/recommend/"+user, tok); {
				case err != nil:
					t.Errorf("request: %v", err)
				case code == http.StatusOK:
					allowed.Add(1)
				case code == http.StatusTooManyRequests:
					limited.Add(1)
				default:
					t.Errorf("status %d", code)
				}
			})
		}
		wg.Wait()
		// Refill during the burst is at most rate*elapsed (plus one for rounding);
		// three separate limits would let 3*burst through.
		most := userBurst + 1 + int(time.Since(began).Seconds()*userRate)
		if got := int(allowed.Load()); got < userBurst || got > most {
			t.Errorf("allowed %d across the gateways, want %d..%d (one shared limit)", got, userBurst, most)
		}
		if limited.Load() == 0 {
			t.Error("no 429 across the gateways")
		}
	})

	t.Run("each answered request is one signed record on recommendations", func(t *testing.T) {
		user := uniqueUser()
		tok := s.token(t, user, "user")
		const n = 3
		for i := range n {
			if code, body := s.get(t, s.gateways[i%2]+"/recommend/"+user, tok, ""); code != 200 {
				t.Fatalf("request %d: %d %s", i, code, body)
			}
		}
		recs := consume(t, "recommendations", user, n)
		keyset, err := events.LoadVerifyKeyset(filepath.Join(s.data, "keys"))
		if err != nil {
			t.Fatal(err)
		}
		requestLog, err := events.LoadRequestLogSigner(filepath.Join(s.data, "keys"))
		if err != nil {
			t.Fatal(err)
		}
		verifier := events.NewVerifier(keyset, 0)
		for _, r := range recs {
			if err := verifier.Verify(r); err != nil {
				t.Errorf("record %q does not verify: %v", r.Value, err)
			}
			if kid := recordHeader(r, events.HeaderKeyID); kid != requestLog.KeyID() {
				t.Errorf("record %q signed by %q, want the request log's HMAC key %q", r.Value, kid, requestLog.KeyID())
			}
			ev, err := events.ParseLine(string(r.Value))
			if err != nil || ev.User != user || ev.Status != 200 || len(ev.Result) != 20 {
				t.Errorf("record value %q: %+v, %v", r.Value, ev, err)
			}
		}
		checkWithKcat(t, user, n)
		if sent := metric(t, s.admins[0], "reelguard_events_sent_total"); sent < 1 {
			t.Errorf("reelguard_events_sent_total = %v after acknowledged records", sent)
		}
	})

	t.Run("a token revoked through one gateway is refused by the other", func(t *testing.T) {
		user := uniqueUser()
		tok := s.token(t, user, "user")
		jti := jtiOf(t, tok)
		req, _ := http.NewRequest(http.MethodPut, s.admins[0]+"/admin/revocations/"+user+"/"+jti, nil)
		req.Header.Set("Authorization", "Bearer "+s.token(t, "ops", "admin"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke: %v %v", err, resp)
		}
		resp.Body.Close()
		if code, body := s.get(t, s.gateways[1]+"/recommend/"+user, tok, ""); code != http.StatusUnauthorized || !strings.Contains(body, "token_revoked") {
			t.Errorf("revoked token at the other gateway: %d %s", code, body)
		}
	})

	t.Run("a policy edit goes live on both gateways; a broken one never does", func(t *testing.T) {
		user := uniqueUser()
		tok := s.token(t, user, "user")
		veto := fmt.Sprintf("package reelguard.authz\n\ndeny contains \"subject_suspended\" if input.principal.sub == %q\n", user)
		writePolicy(t, s.data, "suspend.rego", veto)
		for _, gw := range s.gateways {
			waitFor(t, "the veto at "+gw, func() bool {
				code, body := s.get(t, gw+"/recommend/"+user, tok, "")
				return code == http.StatusForbidden && strings.Contains(body, "subject_suspended")
			})
		}
		writePolicy(t, s.data, "broken.rego", "package reelguard.authz\nallow if {")
		admin := s.token(t, "ops", "admin")
		waitFor(t, "the rejection in /admin/policy", func() bool {
			req, _ := http.NewRequest(http.MethodGet, s.admins[1]+"/admin/policy", nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var st struct {
				LastError *string `json:"last_error"`
			}
			return json.NewDecoder(resp.Body).Decode(&st) == nil && st.LastError != nil
		})
		if code, _ := s.get(t, s.gateways[1]+"/recommend/"+user, tok, ""); code != http.StatusForbidden {
			t.Errorf("after a broken edit: %d, want the last good policy's 403", code)
		}
		other := uniqueUser()
		if code, _ := s.get(t, s.gateways[1]+"/recommend/"+other, s.token(t, other, "user"), ""); code != http.StatusOK {
			t.Errorf("another user after a broken edit: %d, want 200", code)
		}
		_ = os.Remove(filepath.Join(s.data, "policy", "broken.rego"))
	})

	t.Run("recommender down: the cached popular list, marked as a fallback", func(t *testing.T) {
		user := uniqueUser()
		tok := s.token(t, user, "user")
		s.recommender.stop()
		req, _ := http.NewRequest(http.MethodGet, s.gateways[0]+"/recommend/"+user, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			User     string
			Items    []struct{ ID string }
			Fallback bool
		}
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil || !doc.Fallback || doc.User != user || len(doc.Items) != 20 ||
			resp.Header.Get("X-Reelguard-Fallback") != "popular" {
			t.Errorf("%d %+v (%v), want 200 with the 20 popular ids marked fallback", resp.StatusCode, doc, err)
		}
		// The failure is an upstream alert on the admin API and on Kafka.
		req, _ = http.NewRequest(http.MethodGet, s.admins[0]+"/admin/alerts", nil)
		req.Header.Set("Authorization", "Bearer "+s.token(t, "ops", "admin"))
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var alerts []struct{ ID, Kind string }
		if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil || len(alerts) == 0 || alerts[0].Kind != "upstream" {
			t.Fatalf("/admin/alerts = %+v (%v), want the upstream alert first", alerts, err)
		}
		waitFor(t, "the upstream alert on security-alerts", func() bool {
			out, _ := exec.Command("kcat", "-C", "-b", brokers, "-t", "security-alerts", "-o", "beginning", "-e", "-q").Output()
			return strings.Contains(string(out), `"id":"`+alerts[0].ID+`"`)
		})
	})
}

// consume reads topic from the start and returns the records keyed user,
// failing unless exactly want arrive.
func consume(t *testing.T, topic, user string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	deadline := time.Now().Add(30 * time.Second)
	quietUntil := time.Time{}
	for time.Now().Before(deadline) && (quietUntil.IsZero() || time.Now().Before(quietUntil)) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fetches := cl.PollFetches(ctx)
		cancel()
		fetches.EachRecord(func(r *kgo.Record) {
			if string(r.Key) == user {
				got = append(got, r)
			}
		})
		if len(got) >= want && quietUntil.IsZero() {
			quietUntil = time.Now().Add(time.Second) // then look for extras
		}
	}
	if len(got) != want {
		t.Fatalf("%d records for user %s on %s, want %d", len(got), user, topic, want)
	}
	return got
}

// checkWithKcat reads the topic with kcat, an outside Kafka client, and
// checks the envelope's headers are there.
func checkWithKcat(t *testing.T, user string, want int) {
	t.Helper()
	out, err := exec.Command("kcat", "-C", "-b", brokers, "-t", "recommendations", "-o", "beginning", "-e", "-q",
		"-f", "%k\t%h\t%s\n").Output()
	if err != nil {
		t.Fatalf("kcat (run `make test` to install it): %v", err)
	}
	var n int
	for _, line := range strings.Split(string(out), "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 || parts[0] != user {
			continue
		}
		n++
		for _, h := range []string{"sig-v=1", "sig-kid=", "sig-ts=", "sig-pid=", "sig-seq=", "sig="} {
			if !strings.Contains(parts[1], h) {
				t.Errorf("kcat shows headers %q, lacking %s", parts[1], h)
			}
		}
		if !strings.Contains(parts[2], ","+user+",recommendation request ") {
			t.Errorf("kcat value %q is not a course recommendation line", parts[2])
		}
	}
	if n != want {
		t.Errorf("kcat read %d records for user %s, want %d", n, user, want)
	}
}

// metric reads one unlabelled sample from a gateway's /metrics.
func metric(t *testing.T, admin, name string) float64 {
	t.Helper()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		var v float64
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

func writePolicy(t *testing.T, data, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(data, "policy", name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// jtiOf reads a token's jti claim.
func jtiOf(t *testing.T, token string) string {
	t.Helper()
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ JTI string }
	if err := json.Unmarshal(payload, &c); err != nil || c.JTI == "" {
		t.Fatalf("token payload %s: no jti (%v)", payload, err)
	}
	return c.JTI
}

// recordHeader is the value of r's header key, or "".
func recordHeader(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
