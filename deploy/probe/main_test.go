package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/reelguard/reelguard/certs"
)

// health answers 200 on /healthz and 503 elsewhere.
var health = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/healthz" {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}
})

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(health)
	defer srv.Close()
	cases := []struct {
		name    string
		args    []string
		wantErr error // nil: success; errAny: some error
	}{
		{"200 is healthy", []string{srv.URL + "/healthz"}, nil},
		{"503 is not", []string{srv.URL + "/readyz"}, errNotOK},
		{"nothing listening", []string{"http://127.0.0.1:1/healthz"}, errAny},
		{"no URL", nil, errAny},
		{"missing CA file", []string{"-cacert", "testdata/none.pem", srv.URL}, errAny},
		{"both -cacert and -mtls", []string{"-cacert", "a.pem", "-mtls", "dir", srv.URL}, errAny},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := probe(tc.args)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("probe: %v, want success", err)
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("probe: %v, want %v", err, tc.wantErr)
			}
		})
	}
}

var errAny = errors.New("any error")

// TestProbeMTLS probes a server configured as the recommender is under
// mTLS: with the internal CA it gets in, without a client certificate not.
func TestProbeMTLS(t *testing.T) {
	dir := t.TempDir()
	if _, err := certs.EnsureInternalCA(dir); err != nil {
		t.Fatal(err)
	}
	cfg, err := certs.MTLSServerConfig(certs.MTLSConfig{CADir: dir})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(health)
	srv.TLS = cfg
	srv.StartTLS()
	defer srv.Close()
	if err := probe([]string{"-mtls", dir, srv.URL + "/healthz"}); err != nil {
		t.Errorf("probe with the internal CA: %v", err)
	}
	if err := probe([]string{"-mtls", dir, srv.URL + "/readyz"}); !errors.Is(err, errNotOK) {
		t.Errorf("probe of a 503 with the internal CA: %v, want errNotOK", err)
	}
	if err := probe([]string{"-mtls", t.TempDir(), srv.URL + "/healthz"}); err == nil {
		t.Error("probe succeeded with no internal CA")
	}
	if err := probe([]string{"-cacert", filepath.Join(dir, certs.CACertFile), srv.URL + "/healthz"}); err == nil {
		t.Error("probe trusting the internal CA but without a client certificate succeeded")
	}
}
