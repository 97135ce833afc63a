package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t testing.TB, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigLayers(t *testing.T) {
	file := writeConfig(t, "listen: 127.0.0.1:1111\nadmin_listen: 127.0.0.1:2222\nupstream_timeout: 3s\n"+
		"tiers:\n  user: {rate: 1, burst: 2}\n")
	env := envOf(map[string]string{"REELGUARD_ADMIN_LISTEN": "127.0.0.1:3333", "REELGUARD_KAFKA_BROKERS": "a:1, b:2",
		"REELGUARD_DATA": "/tmp/rg"})
	c, err := loadServeConfig([]string{"--config", file, "--listen", "127.0.0.1:4444"}, &bytes.Buffer{}, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"flag beats file", c.Listen, "127.0.0.1:4444"},
		{"env beats file", c.AdminListen, "127.0.0.1:3333"},
		{"upstream from recommender listen", c.Upstream, "http://127.0.0.1:8082"},
		{"policy dir under data", c.PolicyDir, "/tmp/rg/policy"},
		{"brokers split", strings.Join(c.KafkaBrokers, "|"), "a:1|b:2"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	g := c.gateway()
	if g.UpstreamTimeout != 3*time.Second || g.Tiers["user"].Burst != 2 || g.Tiers["service"].Burst != 1000 {
		t.Errorf("gateway config = %+v", g)
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadServeConfig(nil, &bytes.Buffer{}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":8443" || c.AdminListen != "127.0.0.1:9090" || c.Data != "./.reelguard" ||
		strings.Join(c.KafkaBrokers, ",") != "127.0.0.1:9092" || c.RedisURL != "" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestConfigRejects(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"unknown key", "listen: :1\nlisten_port: 2\n", "listen_port"},
		{"wrong type", "max_conns_per_ip: many\n", "line 1"},
		{"bad duration", "\n\nupstream_timeout: soon\n", "line 3"},
		{"unknown nested key", "tiers:\n  user: {rate: 1, burst: 2, jitter: 3}\n", "jitter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadServeConfig([]string{"--config", writeConfig(t, tt.text)}, &bytes.Buffer{}, envOf(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestEmptyConfigFileMeansDefaults(t *testing.T) {
	if _, err := loadServeConfig([]string{"--config", writeConfig(t, "")}, &bytes.Buffer{}, envOf(nil)); err != nil {
		t.Fatal(err)
	}
}

func FuzzReadConfigFile(f *testing.F) {
	f.Add("listen: :1\n")
	f.Add("tiers:\n  user: {rate: 1, burst: 2}\n")
	f.Add("upstream_timeout: 3s\nkafka_brokers: [a, b]\n")
	f.Add("listen_port: 2\n")
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c := defaultConfig()
		_ = readConfigFile(path, &c) // must not panic, whatever the bytes
	})
}
