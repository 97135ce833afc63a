package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/certs"
)

func TestRecommenderTLSUpstream(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"plain by default", nil, nil, "http://127.0.0.1:8082"},
		{"env turns mTLS on", map[string]string{"REELGUARD_RECOMMENDER_TLS": "true"}, nil, "https://127.0.0.1:8082"},
		{"flag turns mTLS on", nil, []string{"--recommender-tls"}, "https://127.0.0.1:8082"},
		{"flag beats env", map[string]string{"REELGUARD_RECOMMENDER_TLS": "1"}, []string{"--recommender-tls=false"}, "http://127.0.0.1:8082"},
		{"explicit upstream wins", map[string]string{"REELGUARD_RECOMMENDER_TLS": "true", "REELGUARD_UPSTREAM": "http://10.0.0.1:80"},
			nil, "http://10.0.0.1:80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadServeConfig(tc.args, &bytes.Buffer{}, envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Upstream != tc.want {
				t.Errorf("upstream = %q, want %q", c.Upstream, tc.want)
			}
		})
	}
}

func TestUpstreamTLSUsesInternalCA(t *testing.T) {
	data := t.TempDir()
	if err := ensureKeys(data, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	c := config{Data: data, Upstream: "https://127.0.0.1:8082", Instance: "gw-1"}
	cfg, err := upstreamTLS(c)
	if err != nil || cfg == nil {
		t.Fatalf("upstreamTLS(https) = %v, %v", cfg, err)
	}
	leaf, err := cfg.GetClientCertificate(nil)
	if err != nil || leaf.Leaf.Subject.CommonName != "gateway gw-1" || leaf.Leaf.Issuer.CommonName != "Reelguard internal CA" {
		t.Fatalf("client leaf = %+v, %v", leaf.Leaf.Subject, err)
	}
	if cfg.ServerName != certs.InternalServerName || cfg.RootCAs == nil {
		t.Errorf("client config verifies %q against %v", cfg.ServerName, cfg.RootCAs)
	}
	c.Upstream = "http://127.0.0.1:8082"
	if cfg, err := upstreamTLS(c); cfg != nil || err != nil {
		t.Errorf("upstreamTLS(http) = %v, %v; want nil, nil", cfg, err)
	}
}

func TestACMEConfigLayers(t *testing.T) {
	env := map[string]string{"REELGUARD_DATA": "/srv/rg", "REELGUARD_LISTEN": "10.0.0.5:8443",
		"REELGUARD_ACME_CA": "https://acme.test/dir", "REELGUARD_ACME_EMAIL": "ops@example.com",
		"REELGUARD_ACME_DOMAINS": "a.example.com, b.example.com", "REELGUARD_ACME_HTTP_LISTEN": ":8080"}
	c, err := loadServeConfig(nil, &bytes.Buffer{}, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	ac, err := c.certsACME()
	if err != nil {
		t.Fatal(err)
	}
	if ac.CA != "https://acme.test/dir" || ac.Email != "ops@example.com" || !slices.Equal(ac.Domains, []string{"a.example.com", "b.example.com"}) ||
		ac.Storage != "/srv/rg/acme" || ac.ListenHost != "10.0.0.5" || ac.TLSALPNPort != 8443 || ac.HTTPPort != 8080 ||
		!slices.Equal(ac.Challenges, []string{"tls-alpn-01", "http-01"}) {
		t.Errorf("certs.ACMEConfig = %+v", ac)
	}
	c, err = loadServeConfig([]string{"--acme-domains", "x.example.com", "--acme-email", "a@b.c"}, &bytes.Buffer{}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if ac, _ := c.certsACME(); !slices.Equal(ac.Challenges, []string{"tls-alpn-01"}) || ac.Storage != ".reelguard/acme" {
		t.Errorf("without an HTTP listener: %+v", ac)
	}
}

func TestTLSConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"recommender tls not a boolean", map[string]string{"REELGUARD_RECOMMENDER_TLS": "mtls"}},
		{"acme ca without domains", map[string]string{"REELGUARD_ACME_CA": "https://acme.test/dir"}},
		{"http-01 without a listener", map[string]string{"REELGUARD_ACME_DOMAINS": "a.example.com",
			"REELGUARD_ACME_CHALLENGES": "http-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := loadServeConfig(nil, &bytes.Buffer{}, envOf(tc.env)); !errors.Is(err, errUsage) {
				t.Errorf("error = %v, want a usage error", err)
			}
		})
	}
}

func TestACMEFileSection(t *testing.T) {
	file := writeConfig(t, "acme:\n  email: ops@example.com\n  domains: [a.example.com]\n  storage: /var/acme\n")
	c, err := loadServeConfig([]string{"--config", file}, &bytes.Buffer{}, envOf(nil))
	if err != nil || c.ACME.Storage != "/var/acme" || !c.ACME.enabled() {
		t.Fatalf("acme section = %+v, %v", c.ACME, err)
	}
	if _, err := loadServeConfig([]string{"--config", writeConfig(t, "acme:\n  domain: a\n")}, &bytes.Buffer{}, envOf(nil)); err == nil {
		t.Error("unknown key in the acme section: want an error")
	}
}

func TestRedirectToHTTPS(t *testing.T) {
	for _, tc := range []struct{ host, target, want string }{
		{"example.com", "/recommend/1?x=2", "https://example.com/recommend/1?x=2"},
		{"example.com:8080", "/", "https://example.com/"},
		{"[::1]:80", "/a", "https://[::1]/a"},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.target, nil)
		req.Host = tc.host
		rec := httptest.NewRecorder()
		redirectToHTTPS(rec, req)
		if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != tc.want {
			t.Errorf("%s%s: %d %q, want 308 %q", tc.host, tc.target, rec.Code, rec.Header().Get("Location"), tc.want)
		}
	}
}

func TestKeysMakesInternalCA(t *testing.T) {
	data := t.TempDir()
	var stderr bytes.Buffer
	if err := ensureKeys(data, &stderr); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(internalCADir(data), certs.CAKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("internal CA key: %v, %v", info, err)
	}
	if !bytes.Contains(stderr.Bytes(), []byte("internal mTLS CA")) {
		t.Errorf("stderr %q does not say the internal CA was made", stderr.String())
	}
}

// Whatever Host and path a client sends, the HTTP listener answers with a
// redirect to https or a 400, and never panics.
func FuzzRedirectToHTTPS(f *testing.F) {
	f.Add("example.com", "/recommend/1?x=2")
	f.Add("[::1]:80", "/a")
	f.Add("", "/")
	f.Add("evil.com/path", "//x")
	f.Fuzz(func(t *testing.T, host, path string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = host
		req.URL.Path = path
		rec := httptest.NewRecorder()
		redirectToHTTPS(rec, req)
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusBadRequest && (rec.Code != http.StatusPermanentRedirect || !strings.HasPrefix(loc, "https://")) {
			t.Fatalf("host %q path %q: %d %q", host, path, rec.Code, loc)
		}
	})
}
