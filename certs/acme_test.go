package certs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestACMEConfigValidate(t *testing.T) {
	good := ACMEConfig{Domains: []string{"example.com"}, Email: "ops@example.com", Storage: "/tmp/acme"}
	for _, tc := range []struct {
		name   string
		change func(*ACMEConfig)
		ok     bool
	}{
		{"minimal", func(*ACMEConfig) {}, true},
		{"both challenges named", func(c *ACMEConfig) { c.Challenges = []string{"http-01", "tls-alpn-01"} }, true},
		{"no domains", func(c *ACMEConfig) { c.Domains = nil }, false},
		{"no email", func(c *ACMEConfig) { c.Email = "" }, false},
		{"no storage", func(c *ACMEConfig) { c.Storage = "" }, false},
		{"dns-01 is not offered", func(c *ACMEConfig) { c.Challenges = []string{"dns-01"} }, false},
		{"bad domain", func(c *ACMEConfig) { c.Domains = []string{"exa mple.com"} }, false},
		{"ratio of 1", func(c *ACMEConfig) { c.RenewalWindowRatio = 1 }, false},
		{"port out of range", func(c *ACMEConfig) { c.HTTPPort = 70000 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.change(&c)
			err := c.Validate()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrACMEConfig)) {
				t.Fatalf("Validate = %v, want ok=%v (and ErrACMEConfig)", err, tc.ok)
			}
		})
	}
}

func TestNewACMERefusesBadConfigFirst(t *testing.T) {
	_, err := NewACME(context.Background(), ACMEConfig{Email: "ops@example.com"})
	if !errors.Is(err, ErrACMEConfig) {
		t.Fatalf("NewACME without domains = %v, want ErrACMEConfig", err)
	}
}

// certmagic's zap lines reach the slog logger, with their fields and level.
func TestZapForwardsToSlog(t *testing.T) {
	var buf bytes.Buffer
	l := zapFor(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Named("acme").With(zap.String("domain", "example.com")).Warn("renewing", zap.Int("attempt", 2))
	l.Debug("hidden")
	out := buf.String()
	for _, want := range []string{"level=WARN", "msg=renewing", "domain=example.com", "attempt=2", "logger=acme"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "hidden") {
		t.Errorf("debug line passed an info logger: %q", out)
	}
}
