package gateway

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/reelguard/reelguard/gateway/ratelimit"
)

// Config holds the gateway's behaviour. Its zero value works: every field's
// comment gives the default that Validate fills in.
type Config struct {
	// Upstream is the retrieval service's base URL. Default http://127.0.0.1:8082.
	Upstream string
	// UpstreamTLS, when set, is the client side of mTLS to an https
	// Upstream: the internal CA's pool and this gateway's client certificate.
	UpstreamTLS *tls.Config
	// UpstreamTimeout bounds one proxied request, connect to last byte. Default 2s.
	UpstreamTimeout time.Duration
	// ServerName names this gateway in the request log's course lines
	// ("recommendation request <server>"). Default: the upstream's host:port.
	ServerName string
	// PreAuth is the per-IP limit applied before any token is verified.
	// Default 50/s, burst 100.
	PreAuth ratelimit.Rate
	// Tiers maps the policy's obligations.tier to the principal's limit.
	// Default: DESIGN.md's user, service, ingest and admin tiers.
	Tiers map[string]ratelimit.Rate
	// MaxConnsPerIP caps concurrent connections from one client IP. Default 256.
	MaxConnsPerIP int
	// MaxConns caps open connections in all, whatever their addresses.
	// Default 8192.
	MaxConns int
	// MaxInFlight bounds the requests served at once; past it requests are
	// shed with 503 and Retry-After, those without a token first (they may
	// use only three quarters of it). Default 1024.
	MaxInFlight int
	// DetectorsShadow runs the extraction and flood detectors in shadow
	// mode: they judge, log and alert (action "none", evidence
	// "shadow_action") but never throttle, block or degrade.
	DetectorsShadow bool
	// DegradedItems is how many items, without scores, an answer carries
	// when the policy's degrade obligation is set. Default 5.
	DegradedItems int
	// AnswerCacheTTL keeps each user's answer this long, served without the
	// retrieval service once auth, policy, limits and detectors let a request
	// through; a new model version empties the cache. Default 5s; negative
	// turns the cache off.
	AnswerCacheTTL time.Duration
	// AnswerCacheSize bounds the cached answers. Default 65536.
	AnswerCacheSize int
	// RequestLogTopic is where answered recommendation requests are logged.
	// Default "recommendations".
	RequestLogTopic string
	// RequestLogBuffer bounds the queue of request-log records waiting to be
	// formatted and sent. Default 8192.
	RequestLogBuffer int
}

// DefaultTiers are DESIGN.md's rate tiers. A tier the policy names but this
// map lacks gets the "user" tier, the strictest.
func DefaultTiers() map[string]ratelimit.Rate {
	return map[string]ratelimit.Rate{
		"user":    {PerSecond: 5, Burst: 10},
		"service": {PerSecond: 500, Burst: 1000},
		"ingest":  {PerSecond: 2000, Burst: 4000},
		"admin":   {PerSecond: 50, Burst: 100},
	}
}

// DefaultConfig returns the configuration the gateway runs with when nothing
// is set.
func DefaultConfig() Config {
	var c Config
	_ = c.Validate()
	return c
}

// Validate fills in defaults and reports settings that cannot work.
func (c *Config) Validate() error {
	if c.Upstream == "" {
		c.Upstream = "http://127.0.0.1:8082"
	}
	u, err := url.Parse(c.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("upstream %q: want an http or https URL", c.Upstream)
	}
	if c.UpstreamTimeout == 0 {
		c.UpstreamTimeout = 2 * time.Second
	}
	if c.ServerName == "" {
		c.ServerName = u.Host
	}
	if c.PreAuth == (ratelimit.Rate{}) {
		c.PreAuth = ratelimit.Rate{PerSecond: 50, Burst: 100}
	}
	if c.Tiers == nil {
		c.Tiers = DefaultTiers()
	}
	if _, ok := c.Tiers["user"]; !ok {
		c.Tiers["user"] = DefaultTiers()["user"]
	}
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = 256
	}
	if c.DegradedItems == 0 {
		c.DegradedItems = 5
	}
	if c.AnswerCacheTTL == 0 {
		c.AnswerCacheTTL = 5 * time.Second
	}
	if c.AnswerCacheSize <= 0 {
		c.AnswerCacheSize = 65536
	}
	if c.MaxConns == 0 {
		c.MaxConns = 8192
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 1024
	}
	if c.RequestLogTopic == "" {
		c.RequestLogTopic = "recommendations"
	}
	if c.RequestLogBuffer == 0 {
		c.RequestLogBuffer = 8192
	}
	return c.check()
}

func (c *Config) check() error {
	var errs []error
	if c.UpstreamTimeout < 0 {
		errs = append(errs, errors.New("upstream_timeout must be positive"))
	}
	for name, r := range c.Tiers {
		if r.PerSecond <= 0 || r.Burst <= 0 {
			errs = append(errs, fmt.Errorf("tier %q: rate and burst must be positive", name))
		}
	}
	if c.PreAuth.PerSecond <= 0 || c.PreAuth.Burst <= 0 {
		errs = append(errs, errors.New("pre-auth limit: rate and burst must be positive"))
	}
	if c.MaxConnsPerIP < 0 || c.RequestLogBuffer < 0 || c.MaxInFlight < 0 || c.DegradedItems < 0 {
		errs = append(errs, errors.New("max_conns_per_ip, max_in_flight, request_log_buffer and degraded_items must not be negative"))
	}
	return errors.Join(errs...)
}
