package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"time"
)

var errUsage = errors.New("usage")

// Hard bounds: the harness is for a shared machine, never an open-ended flood.
const (
	maxDuration = 10 * time.Minute
	maxUsers    = 1000
	maxSlow     = 5000
	maxRequests = 10_000_000
)

// config is everything the flags set.
type config struct {
	URL         *url.URL
	Data        string
	CA          string
	GatewayBin  string
	Duration    time.Duration
	MaxRequests int64
	Timeout     time.Duration
	Target      float64

	Users      int
	Rate       float64 // per legitimate client, requests per second
	Role       string  // user or service
	SpreadIDs  int     // service clients ask for user ids 1..SpreadIDs
	Proto      string  // h2, h1 or mixed (alternating per client)
	LegitSrc   []net.IP
	LegitSrcIn string

	FloodFactor float64 // flood rate as a multiple of the total legitimate rate
	FloodSrc    net.IP
	FloodAuth   string // none or garbage
	FloodConns  int
	FloodProto  string

	SlowSrc      []net.IP
	SlowReadReqs int
	Slowloris    int
	SlowBody     int
	SlowRead     int
	SlowInterval time.Duration
}

func (c *config) legitRate() float64 { return float64(c.Users) * c.Rate }
func (c *config) floodRate() float64 { return c.FloodFactor * c.legitRate() }

func parseConfig(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	rawURL := fs.String("url", "https://127.0.0.1:8443", "gateway base URL (loopback only)")
	fs.StringVar(&c.Data, "data", ".reelguard", "the stack's data folder (dev CA, token key)")
	fs.StringVar(&c.CA, "ca", "", "CA certificate (default DATA/ca/ca.pem)")
	fs.StringVar(&c.GatewayBin, "gateway-bin", "bin/gateway", "gateway binary that mints tokens")
	fs.DurationVar(&c.Duration, "duration", 15*time.Second, "how long to run (at most 10m)")
	fs.Int64Var(&c.MaxRequests, "max-requests", 1_000_000, "stop after this many requests (legitimate + flood)")
	fs.DurationVar(&c.Timeout, "timeout", 5*time.Second, "timeout of one legitimate or flood request")
	fs.Float64Var(&c.Target, "target", 0, "exit 3 when the legitimate success rate is below this (0.999 = 99.9%)")
	fs.IntVar(&c.Users, "users", 10, "legitimate clients, each with its own token")
	fs.Float64Var(&c.Rate, "rate", 2, "requests per second of each legitimate client")
	fs.StringVar(&c.Role, "role", "user", "legitimate clients' role: user (own recommendations) or service (any user)")
	fs.IntVar(&c.SpreadIDs, "spread", 1000, "service clients request user ids 1..N")
	fs.StringVar(&c.Proto, "proto", "mixed", "legitimate clients' protocol: h2, h1 or mixed")
	fs.StringVar(&c.LegitSrcIn, "legit-src", "127.0.0.3-127.0.0.10", "legitimate source addresses: a list or a range")
	fs.Float64Var(&c.FloodFactor, "flood-factor", 20, "flood rate as a multiple of the total legitimate rate (0: no flood)")
	floodSrc := fs.String("flood-src", "127.0.0.2", "the flooding IP")
	fs.StringVar(&c.FloodAuth, "flood-auth", "garbage", "flood requests' token: none or garbage")
	fs.IntVar(&c.FloodConns, "flood-conns", 8, "flood connections (one transport each)")
	fs.StringVar(&c.FloodProto, "flood-proto", "h2", "flood protocol: h2 or h1")
	slowSrc := fs.String("slow-src", "127.0.0.2", "source addresses of the slow connections: a list or a range")
	fs.IntVar(&c.Slowloris, "slowloris", 0, "connections sending headers byte by byte")
	fs.IntVar(&c.SlowBody, "slow-body", 0, "connections trickling a POST /events body")
	fs.IntVar(&c.SlowRead, "slow-read", 0, "connections reading responses very slowly")
	fs.IntVar(&c.SlowReadReqs, "slow-read-reqs", 100, "pipelined requests each slow reader sends before reading slowly")
	fs.DurationVar(&c.SlowInterval, "slow-interval", time.Second, "pause between the slow clients' bytes")
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := c.finish(*rawURL, *floodSrc, *slowSrc); err != nil {
		return nil, err
	}
	return c, nil
}

// finish parses the addresses and checks every bound.
func (c *config) finish(rawURL, floodSrc, slowSrc string) error {
	var err error
	if c.URL, err = checkTarget(rawURL); err != nil {
		return err
	}
	if c.LegitSrc, err = parseSources(c.LegitSrcIn); err != nil {
		return fmt.Errorf("-legit-src: %w", err)
	}
	if c.FloodSrc, err = loopbackIP(floodSrc); err != nil {
		return fmt.Errorf("-flood-src: %w", err)
	}
	if c.SlowSrc, err = parseSources(slowSrc); err != nil {
		return fmt.Errorf("-slow-src: %w", err)
	}
	if c.CA == "" {
		c.CA = filepath.Join(c.Data, "ca", "ca.pem")
	}
	return c.checkBounds()
}

func (c *config) checkBounds() error {
	var errs []error
	check := func(bad bool, msg string) {
		if bad {
			errs = append(errs, errors.New(msg))
		}
	}
	check(c.Duration <= 0 || c.Duration > maxDuration, "-duration must be in (0, 10m]")
	check(c.MaxRequests <= 0 || c.MaxRequests > maxRequests, "-max-requests must be in [1, 10M]")
	check(c.Users < 0 || c.Users > maxUsers, "-users must be in [0, 1000]")
	check(c.Rate <= 0 || c.Rate > 1000, "-rate must be in (0, 1000]")
	check(c.FloodFactor < 0 || c.floodRate() > 50_000, "-flood-factor must be >= 0 and the flood at most 50k req/s")
	check(c.FloodConns < 1 || c.FloodConns > 256, "-flood-conns must be in [1, 256]")
	check(c.Slowloris < 0 || c.SlowBody < 0 || c.SlowRead < 0 || c.Slowloris+c.SlowBody+c.SlowRead > maxSlow,
		"slow connections must be >= 0 and at most 5000 in all")
	check(c.SlowInterval < 10*time.Millisecond, "-slow-interval must be at least 10ms")
	check(c.SlowReadReqs < 1 || c.SlowReadReqs > 1000, "-slow-read-reqs must be in [1, 1000]")
	check(c.Timeout <= 0, "-timeout must be positive")
	check(c.Role != "user" && c.Role != "service", "-role must be user or service")
	check(c.SpreadIDs < 1, "-spread must be positive")
	check(c.Proto != "h2" && c.Proto != "h1" && c.Proto != "mixed", "-proto must be h2, h1 or mixed")
	check(c.FloodProto != "h2" && c.FloodProto != "h1", "-flood-proto must be h2 or h1")
	check(c.FloodAuth != "none" && c.FloodAuth != "garbage", "-flood-auth must be none or garbage")
	check(c.Target < 0 || c.Target > 1, "-target must be in [0, 1]")
	return errors.Join(errs...)
}
