package main

import (
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/reelguard/reelguard/certs"
)

// acmeConfig is the acme: section of the config file. ACME is on when
// Domains is set; otherwise the public listener serves the dev CA's leaf.
type acmeConfig struct {
	// CA is the ACME directory URL. Default Let's Encrypt's production.
	CA string `yaml:"ca"`
	// Email is the account's contact; setting it agrees to the CA's terms.
	Email   string   `yaml:"email"`
	Domains []string `yaml:"domains"`
	// Storage holds the account and certificates. Default $REELGUARD_DATA/acme.
	Storage string `yaml:"storage"`
	// CARoot is a PEM file of roots trusted for the ACME server's own TLS
	// (a private ACME CA). Default the system roots.
	CARoot string `yaml:"ca_root"`
	// HTTPListen is a plain-HTTP listener answering HTTP-01 challenges and
	// redirecting everything else to https. Default off.
	HTTPListen string `yaml:"http_listen"`
	// Challenges: http-01 and/or tls-alpn-01. Default tls-alpn-01 (answered
	// on the public listener), plus http-01 when HTTPListen is set.
	Challenges []string `yaml:"challenges"`
}

func (a acmeConfig) enabled() bool { return len(a.Domains) > 0 }

// internalCADir is where `gateway keys` makes the internal mTLS CA: beside
// the other keys, so whatever holds the keys (a Secret) holds it too.
func internalCADir(data string) string { return filepath.Join(data, "keys", "internal-ca") }

// applyTLSEnv reads the ACME and mTLS variables that are set.
func applyTLSEnv(c *config, getenv func(string) string) {
	set := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set(&c.ACME.CA, "REELGUARD_ACME_CA")
	set(&c.ACME.Email, "REELGUARD_ACME_EMAIL")
	set(&c.ACME.Storage, "REELGUARD_ACME_STORAGE")
	set(&c.ACME.CARoot, "REELGUARD_ACME_CA_ROOT")
	set(&c.ACME.HTTPListen, "REELGUARD_ACME_HTTP_LISTEN")
	if v := getenv("REELGUARD_ACME_DOMAINS"); v != "" {
		c.ACME.Domains = splitList(v)
	}
	if v := getenv("REELGUARD_ACME_CHALLENGES"); v != "" {
		c.ACME.Challenges = splitList(v)
	}
	if v := getenv("REELGUARD_RECOMMENDER_TLS"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			c.badEnv = fmt.Errorf("%w: REELGUARD_RECOMMENDER_TLS=%q is not a boolean", errUsage, v)
		}
		c.RecommenderTLS = on
	}
}

// tlsFlags registers the ACME and mTLS flags of `gateway serve`.
func tlsFlags(fs *flag.FlagSet) (apply func(c *config)) {
	recTLS := fs.Bool("recommender-tls", false, "reach the recommender over mTLS (default upstream https://...)")
	ca := fs.String("acme-ca", "", "ACME directory URL (default Let's Encrypt)")
	email := fs.String("acme-email", "", "ACME account email (agrees to the CA's terms)")
	domains := fs.String("acme-domains", "", "comma-separated domains: turns ACME on")
	storage := fs.String("acme-storage", "", "ACME storage folder (default $REELGUARD_DATA/acme)")
	caRoot := fs.String("acme-ca-root", "", "PEM file of roots trusted for the ACME server's TLS")
	httpListen := fs.String("acme-http-listen", "", "plain-HTTP listener for HTTP-01 (default off)")
	return func(c *config) {
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "recommender-tls":
				c.RecommenderTLS = *recTLS
			case "acme-ca":
				c.ACME.CA = *ca
			case "acme-email":
				c.ACME.Email = *email
			case "acme-domains":
				c.ACME.Domains = splitList(*domains)
			case "acme-storage":
				c.ACME.Storage = *storage
			case "acme-ca-root":
				c.ACME.CARoot = *caRoot
			case "acme-http-listen":
				c.ACME.HTTPListen = *httpListen
			}
		})
	}
}

// finishACME fills the ACME defaults and refuses settings without domains.
func (c *config) finishACME() error {
	if c.badEnv != nil {
		return c.badEnv
	}
	a := &c.ACME
	if !a.enabled() {
		if a.CA != "" || a.Email != "" || a.HTTPListen != "" || len(a.Challenges) > 0 {
			return fmt.Errorf("%w: ACME settings without acme domains (REELGUARD_ACME_DOMAINS)", errUsage)
		}
		return nil
	}
	if a.Storage == "" {
		a.Storage = filepath.Join(c.Data, "acme")
	}
	if len(a.Challenges) == 0 {
		a.Challenges = []string{certs.ChallengeTLSALPN01}
		if a.HTTPListen != "" {
			a.Challenges = append(a.Challenges, certs.ChallengeHTTP01)
		}
	}
	if slices.Contains(a.Challenges, certs.ChallengeHTTP01) && a.HTTPListen == "" {
		return fmt.Errorf("%w: the http-01 challenge needs an HTTP listener (REELGUARD_ACME_HTTP_LISTEN)", errUsage)
	}
	return nil
}

// certsACME turns the acme section into certs.ACMEConfig: TLS-ALPN-01 is
// answered on the public listener's port, HTTP-01 on the HTTP listener's.
func (c *config) certsACME() (certs.ACMEConfig, error) {
	host, tlsPort, err := hostPort(c.Listen)
	if err != nil {
		return certs.ACMEConfig{}, fmt.Errorf("listen: %w", err)
	}
	ac := certs.ACMEConfig{CA: c.ACME.CA, Email: c.ACME.Email, Domains: c.ACME.Domains, Storage: c.ACME.Storage,
		Challenges: c.ACME.Challenges, ListenHost: host, TLSALPNPort: tlsPort}
	if c.ACME.HTTPListen != "" {
		if _, ac.HTTPPort, err = hostPort(c.ACME.HTTPListen); err != nil {
			return certs.ACMEConfig{}, fmt.Errorf("acme http listen: %w", err)
		}
	}
	return ac, ac.Validate()
}

func hostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("port of %q: want 1-65535", addr)
	}
	return host, port, nil
}
