package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for cooldown and TTL tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// edKey is an Ed25519 key pair with its kid, for rotation tests.
type edKey struct {
	kid  string
	priv ed25519.PrivateKey
}

func newEdKey(tb testing.TB, kid string) edKey {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return edKey{kid, priv}
}

func (k edKey) jwk() jwk { return publicJWK(k.kid, k.priv.Public().(ed25519.PublicKey)) }
func (k edKey) token(tb testing.TB) string {
	return signRaw(tb, algEdDSA, k.priv, hdr(algEdDSA, k.kid), validClaims())
}

// jwksServer serves a swappable JWKS over TLS and counts requests.
type jwksServer struct {
	*httptest.Server
	doc     atomic.Pointer[[]byte]
	status  atomic.Int32 // 0: 200
	hits    atomic.Int64
	gate    chan struct{} // when set, each request waits on it
	arrived chan struct{}
}

func newJWKSServer(tb testing.TB, keys ...jwk) *jwksServer {
	tb.Helper()
	s := &jwksServer{}
	s.set(tb, keys...)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.arrived != nil {
			s.arrived <- struct{}{}
			<-s.gate
		}
		if code := s.status.Load(); code != 0 {
			http.Error(w, "down", int(code))
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(*s.doc.Load())
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are part of the tests
	s.StartTLS()
	tb.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(tb testing.TB, keys ...jwk) {
	doc := jwksDoc(tb, keys...)
	s.doc.Store(&doc)
}

// urlVerifier is a Verifier over the server's JWKS, on a fake clock.
func urlVerifier(tb testing.TB, s *jwksServer) (*Verifier, *JWKSProvider, *fakeClock) {
	tb.Helper()
	p, err := NewURLJWKS(tb.Context(), s.URL, JWKSConfig{HTTPClient: s.Client(), Cooldown: time.Minute, TTL: time.Hour})
	if err != nil {
		tb.Fatalf("NewURLJWKS: %v", err)
	}
	clock := &fakeClock{t: time.Now()}
	p.now = clock.Now
	v, err := NewVerifierFrom(p, VerifierConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	return v, p, clock
}

func TestURLJWKSRotation(t *testing.T) {
	k1, k2 := newEdKey(t, "k1"), newEdKey(t, "k2")
	s := newJWKSServer(t, k1.jwk())
	v, _, clock := urlVerifier(t, s)
	if _, err := v.Verify(k1.token(t)); err != nil {
		t.Fatalf("k1 before rotation: %v", err)
	}
	s.set(t, k2.jwk()) // the issuer rotates: k1 retired, k2 in
	clock.Add(2 * time.Minute)
	if _, err := v.Verify(k2.token(t)); err != nil {
		t.Fatalf("k2 after rotation: %v", err)
	}
	if _, err := v.Verify(k1.token(t)); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("k1 after rotation: %v, want ErrUnknownKey", err)
	}
	if got := s.hits.Load(); got != 2 {
		t.Errorf("%d fetches, want 2 (start, then k2's unknown kid; k1's falls in the cooldown)", got)
	}
}

func TestURLJWKSUnknownKidCooldown(t *testing.T) {
	k1 := newEdKey(t, "k1")
	s := newJWKSServer(t, k1.jwk())
	v, _, clock := urlVerifier(t, s)
	stranger := newEdKey(t, "stranger")
	clock.Add(2 * time.Minute)
	for i, want := range []int64{2, 2, 2} { // one refetch, then the cooldown holds
		if _, err := v.Verify(stranger.token(t)); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("try %d: %v, want ErrUnknownKey", i, err)
		}
		if got := s.hits.Load(); got != want {
			t.Fatalf("try %d: %d fetches, want %d", i, got, want)
		}
	}
	clock.Add(time.Minute)
	v.Verify(stranger.token(t))
	if got := s.hits.Load(); got != 3 {
		t.Errorf("after the cooldown: %d fetches, want 3", got)
	}
}

func TestURLJWKSFailedFetchKeepsOldSet(t *testing.T) {
	k1 := newEdKey(t, "k1")
	s := newJWKSServer(t, k1.jwk())
	v, p, _ := urlVerifier(t, s)
	for _, tc := range []struct {
		name   string
		break_ func()
	}{
		{"server error", func() { s.status.Store(http.StatusInternalServerError) }},
		{"not json", func() { doc := []byte("<html>"); s.doc.Store(&doc) }},
		{"no usable key", func() { s.set(t) }},
		{"private key", func() { k := k1.jwk(); k.D = "AAAA"; s.set(t, k) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.break_()
			t.Cleanup(func() { s.status.Store(0); s.set(t, k1.jwk()) })
			if err := p.Refresh(t.Context()); err == nil {
				t.Fatal("Refresh succeeded")
			}
			if p.LastError() == nil {
				t.Error("LastError is nil after a failed fetch")
			}
			if _, err := v.Verify(k1.token(t)); err != nil {
				t.Errorf("the old set is gone: %v", err)
			}
		})
	}
	if err := p.Refresh(t.Context()); err != nil || p.LastError() != nil {
		t.Errorf("recovery: %v, %v", err, p.LastError())
	}
}

// Many requests with the same new kid cause one fetch, and all succeed.
func TestURLJWKSSingleFlight(t *testing.T) {
	k1, k2 := newEdKey(t, "k1"), newEdKey(t, "k2")
	s := newJWKSServer(t, k1.jwk())
	v, _, clock := urlVerifier(t, s)
	s.set(t, k1.jwk(), k2.jwk())
	s.gate, s.arrived = make(chan struct{}), make(chan struct{}, 1)
	clock.Add(2 * time.Minute)
	tok := k2.token(t)
	v.cache = newTokenCache(-1) // every call takes the key path
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			if _, err := v.Verify(tok); err != nil {
				errs <- err
			}
		})
	}
	<-s.arrived // the one fetch is running; late callers find k2 or join it
	close(s.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Verify: %v", err)
	}
	if got := s.hits.Load(); got != 2 {
		t.Errorf("%d fetches, want 2 (start and one refetch)", got)
	}
}

func TestURLJWKSRefusesUnsafeSources(t *testing.T) {
	k1 := newEdKey(t, "k1")
	s := newJWKSServer(t, k1.jwk())
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(*s.doc.Load())
	}))
	defer plain.Close()
	ctx := t.Context()
	for _, tc := range []struct {
		name, url string
		cfg       JWKSConfig
		ok        bool
	}{
		{"plain http", plain.URL, JWKSConfig{}, false},
		{"plain http to loopback, allowed", plain.URL, JWKSConfig{AllowLoopbackHTTP: true}, true},
		{"plain http to a name", strings.Replace(plain.URL, "127.0.0.1", "localhost", 1), JWKSConfig{AllowLoopbackHTTP: true}, false},
		{"credentials in the URL", strings.Replace(s.URL, "https://", "https://u:p@", 1), JWKSConfig{HTTPClient: s.Client()}, false},
		{"file scheme", "file:///etc/passwd", JWKSConfig{}, false},
		{"too large", s.URL, JWKSConfig{HTTPClient: s.Client(), MaxBytes: 10}, false},
		{"untrusted certificate", s.URL, JWKSConfig{}, false},
		{"https", s.URL, JWKSConfig{HTTPClient: s.Client()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewURLJWKS(ctx, tc.url, tc.cfg)
			if (err == nil) != tc.ok {
				t.Errorf("NewURLJWKS(%s) = %v, want ok=%v", tc.url, err, tc.ok)
			}
		})
	}
}

func TestURLJWKSRefusesRedirectToHTTP(t *testing.T) {
	k1 := newEdKey(t, "k1")
	plain := newJWKSServer(t, k1.jwk()) // TLS, only used for its document
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(*plain.doc.Load())
	}))
	defer target.Close()
	redirector := httptest.NewTLSServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer redirector.Close()
	if _, err := NewURLJWKS(t.Context(), redirector.URL, JWKSConfig{HTTPClient: redirector.Client()}); err == nil {
		t.Error("followed a redirect from https to http")
	}
}

func TestFileJWKSRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jwks.json")
	k1, k2 := newEdKey(t, "k1"), newEdKey(t, "k2")
	writeAtomically(t, path, jwksDoc(t, k1.jwk()))
	p, err := NewFileJWKS(path, JWKSConfig{Cooldown: time.Minute, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	p.now = clock.Now
	v, _ := NewVerifierFrom(p, VerifierConfig{})
	if _, err := v.Verify(k1.token(t)); err != nil {
		t.Fatalf("k1: %v", err)
	}
	os.WriteFile(path, []byte("{not json"), 0o644) // a half-written file
	clock.Add(2 * time.Minute)
	if _, err := v.Verify(k2.token(t)); !errors.Is(err, ErrUnknownKey) || p.LastError() == nil {
		t.Fatalf("k2 with a broken file: %v (last error %v)", err, p.LastError())
	}
	if _, err := v.Verify(k1.token(t)); err != nil {
		t.Fatalf("k1 after a failed re-read: %v", err)
	}
	writeAtomically(t, path, jwksDoc(t, k2.jwk()))
	clock.Add(2 * time.Minute)
	if _, err := v.Verify(k2.token(t)); err != nil {
		t.Fatalf("k2 after rotation: %v", err)
	}
}

// After the TTL, Keys starts a background re-read; it never blocks.
func TestFileJWKSTTL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwks.json")
	k1, k2 := newEdKey(t, "k1"), newEdKey(t, "k2")
	writeAtomically(t, path, jwksDoc(t, k1.jwk()))
	p, err := NewFileJWKS(path, JWKSConfig{TTL: time.Minute, Cooldown: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	p.now = clock.Now
	writeAtomically(t, path, jwksDoc(t, k2.jwk()))
	if _, ok := p.Keys().Algorithm("k2"); ok {
		t.Fatal("re-read before the TTL")
	}
	clock.Add(2 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := p.Keys().Algorithm("k2"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("k2 never appeared after the TTL")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeAtomically(tb testing.TB, path string, data []byte) {
	tb.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

func TestNewVerifierFromRejectsBadConfig(t *testing.T) {
	ks := StaticKeys(nil)
	for _, cfg := range []VerifierConfig{
		{HS256Secret: []byte("short"), HS256KeyID: "hs"},
		{HS256Secret: make([]byte, 32)},
		{HS256KeyID: "hs"},
		{HS256Secret: make([]byte, 32), HS256KeyID: "a\nb"},
	} {
		if _, err := NewVerifierFrom(ks, cfg); err == nil {
			t.Errorf("NewVerifierFrom(%+v) accepted", cfg)
		}
	}
	if _, err := NewVerifierFrom(nil, VerifierConfig{}); err == nil {
		t.Error("nil source accepted")
	}
	// NewVerifier cannot report: it turns HS256 off instead.
	secret := []byte("short but signed with")
	v := NewVerifier(nil, VerifierConfig{HS256Secret: secret, HS256KeyID: "hs"})
	tok := signRaw(t, algHS256, secret, hdr(algHS256, "hs"), validClaims())
	if _, err := v.Verify(tok); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("short HS256 secret via NewVerifier: %v, want ErrUnknownKey", err)
	}
}
