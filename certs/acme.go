package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
	"go.uber.org/zap"
)

// The ACME challenge types ACMEConfig.Challenges may name.
const (
	ChallengeHTTP01    = acme.ChallengeTypeHTTP01    // "http-01"
	ChallengeTLSALPN01 = acme.ChallengeTypeTLSALPN01 // "tls-alpn-01"
)

// ErrACMEConfig marks an ACMEConfig that cannot work.
var ErrACMEConfig = errors.New("acme config")

// ACMEConfig configures server certificates from an ACME CA (Let's Encrypt,
// or pebble in tests), obtained and renewed by certmagic.
type ACMEConfig struct {
	// CA is the ACME directory URL. Default Let's Encrypt's production
	// directory.
	CA string
	// Email is the ACME account's contact; the operator who sets it agrees
	// to the CA's terms of service. Required (without one certmagic would
	// prompt on the terminal).
	Email string
	// Domains are the names the certificate covers; the first is served to
	// clients that send no SNI. Required.
	Domains []string
	// Storage is the folder for the account, keys and certificates (cmd
	// uses $REELGUARD_DATA/acme). Required.
	Storage string
	// Challenges lists the challenge types to solve: ChallengeHTTP01 and/or
	// ChallengeTLSALPN01. Default both.
	Challenges []string
	// ListenHost is the host the challenge solvers bind when no server of
	// ours holds their port yet (at start). Default all interfaces.
	ListenHost string
	// HTTPPort is where HTTP-01 is answered: the CA asks port 80, which
	// must reach this port. When a server of ours already listens there it
	// must pass requests through HTTPChallengeHandler. Default 80.
	HTTPPort int
	// TLSALPNPort is where TLS-ALPN-01 is answered: the CA asks port 443,
	// which must reach this port; a TLS listener of ours there answers with
	// TLSConfig. Default 443.
	TLSALPNPort int
	// CARoots, when set, are the only roots trusted for the ACME server's
	// own TLS (a private CA such as pebble). Default the system roots.
	CARoots *x509.CertPool
	// RenewalWindowRatio is the share of a certificate's lifetime, at its
	// end, in which it is renewed. Default certmagic's (1/3); the CA's
	// renewal information (ARI) takes precedence when offered.
	RenewalWindowRatio float64
	// RenewCheckInterval is how often certificates are checked for renewal
	// in the background. Default certmagic's (10 minutes).
	RenewCheckInterval time.Duration
	// Logger receives certmagic's log. Default slog.Default().
	Logger *slog.Logger
}

// Validate reports the first problem with c, wrapping ErrACMEConfig.
func (c ACMEConfig) Validate() error {
	switch {
	case len(c.Domains) == 0:
		return fmt.Errorf("%w: no domains", ErrACMEConfig)
	case c.Email == "":
		return fmt.Errorf("%w: no account email", ErrACMEConfig)
	case c.Storage == "":
		return fmt.Errorf("%w: no storage folder", ErrACMEConfig)
	case c.RenewalWindowRatio < 0 || c.RenewalWindowRatio >= 1:
		return fmt.Errorf("%w: renewal window ratio %v is outside [0, 1)", ErrACMEConfig, c.RenewalWindowRatio)
	case c.HTTPPort < 0 || c.HTTPPort > 65535 || c.TLSALPNPort < 0 || c.TLSALPNPort > 65535:
		return fmt.Errorf("%w: challenge port out of range", ErrACMEConfig)
	}
	for _, ch := range c.Challenges {
		if ch != ChallengeHTTP01 && ch != ChallengeTLSALPN01 {
			return fmt.Errorf("%w: unknown challenge %q (want %s or %s)", ErrACMEConfig, ch, ChallengeHTTP01, ChallengeTLSALPN01)
		}
	}
	for _, d := range c.Domains {
		if !certmagic.SubjectQualifiesForCert(d) {
			return fmt.Errorf("%w: %q cannot be a certificate's subject", ErrACMEConfig, d)
		}
	}
	return nil
}

// ACME serves certificates that certmagic obtains from an ACME CA and
// renews in the background, rotating them without a restart.
type ACME struct {
	magic   *certmagic.Config
	cache   *certmagic.Cache
	issuer  *certmagic.ACMEIssuer
	domains []string
}

// NewACME obtains (or loads from Storage) a certificate for every domain
// before it returns, so a server started with it serves at once; renewal
// then runs in the background until Close.
func NewACME(ctx context.Context, c ACMEConfig) (*ACME, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	a := &ACME{domains: slices.Clone(c.Domains)}
	logger := zapFor(c.Logger)
	var magic *certmagic.Config
	a.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return magic, nil },
		RenewCheckInterval: c.RenewCheckInterval,
		Logger:             logger,
	})
	magic = certmagic.New(a.cache, certmagic.Config{
		RenewalWindowRatio: c.RenewalWindowRatio,
		KeySource:          certmagic.StandardKeyGenerator{KeyType: certmagic.P256},
		Storage:            &certmagic.FileStorage{Path: c.Storage},
		DefaultServerName:  c.Domains[0],
		Logger:             logger,
	})
	a.issuer = certmagic.NewACMEIssuer(magic, acmeIssuerTemplate(c, logger))
	magic.Issuers = []certmagic.Issuer{a.issuer}
	a.magic = magic
	if err := magic.ManageSync(ctx, a.domains); err != nil {
		a.cache.Stop()
		return nil, fmt.Errorf("acme: obtain certificates for %v: %w", a.domains, err)
	}
	return a, nil
}

func acmeIssuerTemplate(c ACMEConfig, logger *zap.Logger) certmagic.ACMEIssuer {
	ca := c.CA
	if ca == "" {
		ca = certmagic.LetsEncryptProductionCA
	}
	challenges := c.Challenges
	if len(challenges) == 0 {
		challenges = []string{ChallengeHTTP01, ChallengeTLSALPN01}
	}
	return certmagic.ACMEIssuer{
		// No TestCA: certmagic retries Let's Encrypt on its staging
		// directory (sparing the rate limits) and any other CA on itself.
		CA:                      ca,
		Email:                   c.Email,
		Agreed:                  true,
		DisableHTTPChallenge:    !slices.Contains(challenges, ChallengeHTTP01),
		DisableTLSALPNChallenge: !slices.Contains(challenges, ChallengeTLSALPN01),
		ListenHost:              c.ListenHost,
		AltHTTPPort:             c.HTTPPort,
		AltTLSALPNPort:          c.TLSALPNPort,
		TrustedRoots:            c.CARoots,
		Logger:                  logger,
	}
}

// TLSConfig is TLSPolicy serving the managed certificates (the first
// domain's to clients without SNI), offering h2, http/1.1 and acme-tls/1
// so that the listener itself answers TLS-ALPN-01 challenges.
func (a *ACME) TLSConfig() *tls.Config {
	cfg := TLSPolicy()
	cfg.GetCertificate = a.magic.GetCertificate
	cfg.NextProtos = []string{"h2", "http/1.1", acmez.ACMETLS1Protocol}
	return cfg
}

// HTTPChallengeHandler answers HTTP-01 challenges and passes every other
// request to next; a plain-HTTP listener on HTTPPort wraps its handler in it.
func (a *ACME) HTTPChallengeHandler(next http.Handler) http.Handler {
	return a.issuer.HTTPChallengeHandler(next)
}

// Renew renews every domain's certificate now, whether or not it is due
// (after a key compromise, say); the next handshake serves the new one.
func (a *ACME) Renew(ctx context.Context) error {
	for _, d := range a.domains {
		old := a.cache.AllMatchingCertificates(d)
		if err := a.magic.RenewCertSync(ctx, d, true); err != nil {
			return fmt.Errorf("acme: renew %s: %w", d, err)
		}
		// Cache the new certificate before dropping the old, so that no
		// handshake finds neither.
		fresh, err := a.magic.CacheManagedCertificate(ctx, d)
		if err != nil {
			return fmt.Errorf("acme: load renewed %s: %w", d, err)
		}
		var stale []string
		for _, c := range old {
			if c.Hash() != fresh.Hash() {
				stale = append(stale, c.Hash())
			}
		}
		a.cache.Remove(stale)
	}
	return nil
}

// Close stops background renewal.
func (a *ACME) Close() {
	a.cache.Stop()
}
