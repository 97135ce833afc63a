package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reelguard/reelguard/gateway"
	"github.com/reelguard/reelguard/gateway/ratelimit"
)

// config is everything `gateway serve` reads: defaults, then the YAML file,
// then REELGUARD_* variables, then flags.
type config struct {
	Data                string                `yaml:"data"`
	Instance            string                `yaml:"instance"`
	Listen              string                `yaml:"listen"`
	AdminListen         string                `yaml:"admin_listen"`
	RecommenderListen   string                `yaml:"recommender_listen"`
	Upstream            string                `yaml:"upstream"`
	UpstreamTimeout     time.Duration         `yaml:"upstream_timeout"`
	RedisURL            string                `yaml:"redis_url"`
	KafkaBrokers        []string              `yaml:"kafka_brokers"`
	KafkaEmbeddedListen string                `yaml:"kafka_embedded_listen"`
	PolicyDir           string                `yaml:"policy_dir"`
	JWKSURL             string                `yaml:"jwks_url"`
	JWKSFile            string                `yaml:"jwks_file"`
	DecisionsToKafka    bool                  `yaml:"decisions_to_kafka"`
	Replicas            int                   `yaml:"replicas"`
	AlertWebhookURL     string                `yaml:"alert_webhook_url"`
	LimiterFailClosed   bool                  `yaml:"limiter_fail_closed"`
	MaxConnsPerIP       int                   `yaml:"max_conns_per_ip"`
	MaxConns            int                   `yaml:"max_conns"`
	MaxInFlight         int                   `yaml:"max_in_flight"`
	PreAuth             *rateConfig           `yaml:"pre_auth"`
	Tiers               map[string]rateConfig `yaml:"tiers"`
	LogLevel            string                `yaml:"log_level"`
	DetectorsShadow     bool                  `yaml:"detectors_shadow"`
	DegradedItems       int                   `yaml:"degraded_items"`
	AnswerCacheTTL      time.Duration         `yaml:"answer_cache_ttl"`
	// RecommenderTLS makes the default upstream https://RecommenderListen,
	// reached with mTLS (see tlsconfig.go).
	RecommenderTLS bool       `yaml:"recommender_tls"`
	ACME           acmeConfig `yaml:"acme"`

	badEnv error // a REELGUARD_* value that does not parse, reported by finish
}

type rateConfig struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

func defaultConfig() config {
	return config{
		Data:                "./.reelguard",
		Listen:              ":8443",
		AdminListen:         "127.0.0.1:9090",
		RecommenderListen:   "127.0.0.1:8082",
		KafkaEmbeddedListen: "127.0.0.1:9092",
		LogLevel:            "info",
		Replicas:            1,
	}
}

// readConfigFile decodes path strictly: an unknown key is an error.
func readConfigFile(path string, c *config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file means defaults
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// applyEnv overrides c with the REELGUARD_* variables that are set.
func applyEnv(c *config, getenv func(string) string) {
	set := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set(&c.Data, "REELGUARD_DATA")
	set(&c.Instance, "REELGUARD_INSTANCE")
	set(&c.Listen, "REELGUARD_LISTEN")
	set(&c.AdminListen, "REELGUARD_ADMIN_LISTEN")
	set(&c.RecommenderListen, "REELGUARD_RECOMMENDER_LISTEN")
	set(&c.Upstream, "REELGUARD_UPSTREAM")
	set(&c.RedisURL, "REELGUARD_REDIS_URL")
	set(&c.KafkaEmbeddedListen, "REELGUARD_KAFKA_EMBEDDED_LISTEN")
	set(&c.PolicyDir, "REELGUARD_POLICY_DIR")
	set(&c.JWKSURL, "REELGUARD_JWKS_URL")
	set(&c.AlertWebhookURL, "REELGUARD_ALERT_WEBHOOK_URL")
	set(&c.LogLevel, "REELGUARD_LOG_LEVEL")
	if v := getenv("REELGUARD_KAFKA_BROKERS"); v != "" {
		c.KafkaBrokers = splitList(v)
	}
	applyTLSEnv(c, getenv)
}

// serveFlags registers the flags of `gateway serve`; apply copies the ones
// given on the command line over c.
func serveFlags(fs *flag.FlagSet) (configPath *string, apply func(c *config)) {
	configPath = fs.String("config", "", "YAML configuration file (unknown keys are errors)")
	data := fs.String("data", "", "data folder (keys, certificates, policy)")
	listen := fs.String("listen", "", "public HTTPS listen address")
	admin := fs.String("admin-listen", "", "admin listen address (plain HTTP, keep it on loopback)")
	upstream := fs.String("upstream", "", "retrieval service base URL")
	redisURL := fs.String("redis-url", "", "Redis URL for shared limits; empty keeps them in process")
	brokers := fs.String("kafka-brokers", "", "comma-separated Kafka seed brokers")
	policyDir := fs.String("policy-dir", "", "folder of Rego policy")
	logLevel := fs.String("log-level", "", "debug, info, warn or error")
	applyTLS := tlsFlags(fs)
	return configPath, func(c *config) {
		applyTLS(c)
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "data":
				c.Data = *data
			case "listen":
				c.Listen = *listen
			case "admin-listen":
				c.AdminListen = *admin
			case "upstream":
				c.Upstream = *upstream
			case "redis-url":
				c.RedisURL = *redisURL
			case "kafka-brokers":
				c.KafkaBrokers = splitList(*brokers)
			case "policy-dir":
				c.PolicyDir = *policyDir
			case "log-level":
				c.LogLevel = *logLevel
			}
		})
	}
}

// finish derives the settings that default from others.
func (c *config) finish() error {
	if c.Upstream == "" {
		c.Upstream = "http://" + c.RecommenderListen
		if c.RecommenderTLS {
			c.Upstream = "https://" + c.RecommenderListen
		}
	}
	if err := c.finishACME(); err != nil {
		return err
	}
	if len(c.KafkaBrokers) == 0 {
		c.KafkaBrokers = []string{c.KafkaEmbeddedListen}
	}
	if c.PolicyDir == "" {
		c.PolicyDir = filepath.Join(c.Data, "policy")
	}
	if c.Instance == "" {
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(c.Listen)
		c.Instance = host + ":" + port
	}
	if c.Replicas < 1 {
		return fmt.Errorf("%w: replicas must be at least 1", errUsage)
	}
	if c.JWKSFile == "" {
		c.JWKSFile = filepath.Join(c.Data, "keys", "jwks.json")
	}
	return nil
}

// stateDir is this instance's own state (decision log, later the spool and
// replay windows), so replicas can share one data folder.
func (c *config) stateDir() string {
	safe := strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, c.Instance)
	return filepath.Join(c.Data, "state", safe)
}

func (c *config) gateway() gateway.Config {
	g := gateway.Config{Upstream: c.Upstream, UpstreamTimeout: c.UpstreamTimeout,
		ServerName: c.Instance, MaxConnsPerIP: c.MaxConnsPerIP, MaxConns: c.MaxConns, MaxInFlight: c.MaxInFlight,
		DetectorsShadow: c.DetectorsShadow, DegradedItems: c.DegradedItems, AnswerCacheTTL: c.AnswerCacheTTL}
	if c.PreAuth != nil {
		g.PreAuth = ratelimit.Rate{PerSecond: c.PreAuth.Rate, Burst: c.PreAuth.Burst}
	}
	if len(c.Tiers) > 0 {
		g.Tiers = gateway.DefaultTiers()
		for name, r := range c.Tiers {
			g.Tiers[name] = ratelimit.Rate{PerSecond: r.Rate, Burst: r.Burst}
		}
	}
	return g
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
