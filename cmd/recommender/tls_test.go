package main

import (
	"crypto/tls"
	"errors"
	"path/filepath"
	"testing"

	"github.com/reelguard/reelguard/certs"
)

func TestServiceTLS(t *testing.T) {
	withCA := t.TempDir()
	if _, err := certs.EnsureInternalCA(filepath.Join(withCA, "internal-ca")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, env, keys string
		wantTLS         bool
		wantUsage       bool
		wantErr         bool
	}{
		{"unset: plain", "", withCA, false, false, false},
		{"false: plain", "false", withCA, false, false, false},
		{"true: mTLS", "true", withCA, true, false, false},
		{"1: mTLS", "1", withCA, true, false, false},
		{"not a boolean", "mtls", withCA, false, true, true},
		{"no internal CA", "true", t.TempDir(), false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := serviceTLS(tc.env, tc.keys)
			if (err != nil) != tc.wantErr || errors.Is(err, errUsage) != tc.wantUsage {
				t.Fatalf("serviceTLS = %v, want error=%v usage=%v", err, tc.wantErr, tc.wantUsage)
			}
			if (cfg != nil) != tc.wantTLS {
				t.Fatalf("config = %v, want TLS=%v", cfg, tc.wantTLS)
			}
			if cfg != nil && (cfg.ClientAuth != tls.RequireAndVerifyClientCert || cfg.ClientCAs == nil) {
				t.Errorf("mTLS config does not require a client certificate from the internal CA: %v", cfg.ClientAuth)
			}
		})
	}
}
