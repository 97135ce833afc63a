package gateway_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/certs"
	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/gateway"
	"github.com/reelguard/reelguard/gateway/ratelimit"
	"github.com/reelguard/reelguard/policy"
)

// stack is a gateway on a real TLS listener, with real keys, the default
// Rego policy and an in-process limiter, in front of a fake retrieval service.
type stack struct {
	url    string
	admin  string
	client *http.Client
	signer *auth.Signer
	sink   *memSink
	gw     *gateway.Gateway
	// decisions is the policy's decision log (its replay history).
	decisions *policy.DecisionLog
	// pubWrites counts the write system calls on the public listener's
	// connections (TCP, under TLS).
	pubWrites *atomic.Int64
	// pool trusts the stack's dev CA.
	pool *x509.CertPool
}

// memSink records what the gateway hands to Kafka (the real producer is
// exercised against a broker in e2e/).
type memSink struct {
	mu      sync.Mutex
	records []record
}

type record struct {
	topic, key, value string
	headers           []events.Header
}

func (s *memSink) Send(topic string, key, value []byte, headers ...events.Header) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, record{topic, string(key), string(value), headers})
	return true
}

func (s *memSink) all() []record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]record(nil), s.records...)
}

func newStack(t testing.TB, cfg gateway.Config, guard gateway.Guard) *stack {
	t.Helper()
	sink := &memSink{}
	s := newStackWithSink(t, cfg, guard, sink)
	s.sink = sink
	return s
}

// newStackWithSink is newStack with the request log going to sink.
func newStackWithSink(t testing.TB, cfg gateway.Config, guard gateway.Guard, sink gateway.RecordSink) *stack {
	t.Helper()
	return buildStack(t, cfg, guard, sink, nil)
}

// newStackWithEvents is newStack with POST /events going to ev.
func newStackWithEvents(t testing.TB, cfg gateway.Config, ev gateway.EventSink) *stack {
	t.Helper()
	return buildStack(t, cfg, nil, &memSink{}, ev)
}

func buildStack(t testing.TB, cfg gateway.Config, guard gateway.Guard, sink gateway.RecordSink, ev gateway.EventSink) *stack {
	t.Helper()
	dir := t.TempDir()
	keys, ca, pol := filepath.Join(dir, "keys"), filepath.Join(dir, "ca"), filepath.Join(dir, "policy")
	must(t, ensure(auth.EnsureKeys, keys), ensure(certs.EnsureCA, ca), ensure(policy.Seed, pol))
	jwks, err := auth.LoadJWKS(filepath.Join(keys, "jwks.json"))
	must(t, err)
	signer, err := auth.LoadSigner(keys)
	must(t, err)
	decisions, err := policy.NewDecisionLog(policy.DecisionLogConfig{}) // no file: the replay history only
	must(t, err)
	t.Cleanup(func() { decisions.Close() })
	engine, err := policy.NewEngine(context.Background(), pol, nil, policy.WithDecisionLog(decisions))
	must(t, err)
	if cfg.Upstream == "" {
		cfg.Upstream = fakeRecommender(t)
	}
	gw, err := gateway.New(cfg, gateway.Deps{Auth: auth.NewVerifier(jwks, auth.VerifierConfig{}),
		Policy: engine, Guard: guard, Log: sink, Events: ev})
	must(t, err)
	tlsConfig, err := certs.ServerTLSConfig(ca, nil)
	must(t, err)
	pool, err := certs.CAPool(ca)
	must(t, err)

	writes := new(atomic.Int64)
	pub, adm := &countingListener{Listener: listen(t), writes: writes}, listen(t)
	srv, err := gw.PublicServer(tlsConfig)
	must(t, err)
	admSrv := gw.AdminServer(gw.AdminHandler(engine))
	go func() { _ = gw.ServePublic(srv, pub) }()
	go func() { _ = admSrv.Serve(adm) }()
	t.Cleanup(func() { srv.Close(); admSrv.Close(); gw.Close() })
	client := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return &stack{url: "https://" + pub.Addr().String(), admin: "http://" + adm.Addr().String(),
		client: client, signer: signer, gw: gw, decisions: decisions, pubWrites: writes, pool: pool}
}

// countingListener counts the Write calls on the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &gateway.WriteCounter{Conn: c, Writes: l.writes}, nil
}

// fakeRecommender answers like recommender/serve: 20 ids for any user.
func fakeRecommender(t testing.TB) string {
	t.Helper()
	l := listen(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /popular", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"user":"","items":[{"id":"popular+1","score":1},{"id":"popular+2","score":0.5}],"model":"test","fallback":false}`)
	})
	mux.HandleFunc("GET /recommend/{userid}", func(w http.ResponseWriter, r *http.Request) {
		ids := make([]string, 20)
		for i := range ids {
			ids[i] = fmt.Sprintf("movie+%d+%s", i, r.PathValue("userid"))
		}
		w.Header().Set("X-Content-Type-Options", "nosniff") // as the recommender does
		w.Header().Set("X-Seen-Subject", r.Header.Get("X-Reelguard-Subject"))
		w.Header().Set("X-Seen-Authorization", r.Header.Get("Authorization"))
		if r.Header.Get("Accept") == "application/json" {
			type item struct {
				ID    string  `json:"id"`
				Score float64 `json:"score"`
			}
			items := make([]item, len(ids))
			for i, id := range ids {
				items[i] = item{id, 1 / float64(i+1)}
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"user": r.PathValue("userid"), "items": items, "model": "test", "fallback": false})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, strings.Join(ids, ","))
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	return l
}

func ensure(f func(string) (bool, error), dir string) error {
	_, err := f(dir)
	return err
}

func must(t testing.TB, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (s *stack) token(t testing.TB, sub, role string) string {
	t.Helper()
	tok, err := s.signer.Mint(sub, role, time.Hour)
	must(t, err)
	return tok
}

// get sends a GET with an optional bearer token and returns status, headers and body.
func (s *stack) get(t testing.TB, url, token string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	must(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.client.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// errorReason decodes a JSON error body and returns its reason.
func errorReason(t testing.TB, h http.Header, body string) string {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type = %q, want application/json; body %q", ct, body)
	}
	var e struct{ Error, Reason string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" || e.Reason == "" {
		t.Fatalf("error body %q: want {error, reason} (%v)", body, err)
	}
	return e.Reason
}

func ratelimitRate(perSecond float64, burst int) ratelimit.Rate {
	return ratelimit.Rate{PerSecond: perSecond, Burst: burst}
}
