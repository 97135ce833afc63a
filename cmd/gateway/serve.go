package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/certs"
	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/gateway"
	"github.com/reelguard/reelguard/gateway/ratelimit"
	"github.com/reelguard/reelguard/policy"
)

// loadServeConfig layers defaults, the file, the environment and the flags.
func loadServeConfig(args []string, stderr io.Writer, getenv func(string) string) (config, error) {
	fs := newFlagSet("serve", stderr)
	path, apply := serveFlags(fs)
	if err := parse(fs, args); err != nil {
		return config{}, err
	}
	c := defaultConfig()
	if *path != "" {
		if err := readConfigFile(*path, &c); err != nil {
			return config{}, err
		}
	}
	applyEnv(&c, getenv)
	apply(&c)
	return c, c.finish()
}

func serve(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	c, err := loadServeConfig(args, stderr, getenv)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, c.LogLevel)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	s, err := assemble(ctx, c, log, stderr)
	if err != nil {
		return err
	}
	defer s.close()
	return s.run(ctx)
}

// stack is a gateway with everything it was built from, ready to run.
type stack struct {
	cfg       config
	log       *slog.Logger
	gw        *gateway.Gateway
	engine    *policy.Engine
	decisions *policy.DecisionLog
	alerts    *anomaly.Hub
	monitor   *anomaly.Monitor // its activity set is fed from movielog (activity.go)
	producer  *events.Producer
	redis     redis.UniversalClient
	limits    *ratelimit.Redis // nil without Redis
	public    *http.Server
	admin     *http.Server
	acme      *certs.ACME  // nil without ACME
	acmeHTTP  *http.Server // the HTTP-01 listener's server; nil when off
}

// assemble builds every part from c: keys first (made when missing), then
// policy, verifier, limiter, producer and TLS.
func assemble(ctx context.Context, c config, log *slog.Logger, stderr io.Writer) (*stack, error) {
	if err := ensureKeys(c.Data, stderr); err != nil {
		return nil, err
	}
	keysDir := filepath.Join(c.Data, "keys")
	s := &stack{cfg: c, log: log, alerts: anomaly.NewHub(anomaly.HubConfig{Logger: log})}
	var err error
	if s.producer, err = newProducer(c, keysDir, log, s.alerts); err != nil {
		return nil, err
	}
	if err := s.addAlertSinks(); err != nil {
		s.close()
		return nil, err
	}
	if err := s.newPolicy(ctx); err != nil {
		s.close()
		return nil, err
	}
	verifier, err := newVerifier(ctx, c, log)
	if err != nil {
		s.close()
		return nil, err
	}
	metrics := gateway.NewMetrics()
	if err := metrics.Register(producerCollectors(s.producer)...); err != nil {
		s.close()
		return nil, err
	}
	guard, err := s.newGuard(c, metrics, log)
	if err != nil {
		s.close()
		return nil, err
	}
	gcfg := c.gateway()
	if gcfg.UpstreamTLS, err = upstreamTLS(c); err != nil {
		s.close()
		return nil, err
	}
	if s.monitor, err = newMonitor(c); err != nil {
		s.close()
		return nil, err
	}
	s.gw, err = gateway.New(gcfg, gateway.Deps{
		Auth: verifier, Policy: s.engine, Guard: guard, Log: s.producer, Events: s.producer, Logger: log, Metrics: metrics,
		Alerts: s.alerts, Monitor: s.monitor,
	})
	if err != nil {
		s.close()
		return nil, err
	}
	tlsConfig, err := s.publicTLS(ctx)
	if err != nil {
		s.close()
		return nil, err
	}
	if s.public, err = s.gw.PublicServer(tlsConfig); err != nil {
		s.close()
		return nil, err
	}
	s.admin = s.gw.AdminServer(s.gw.AdminHandler(s.engine))
	if c.ACME.HTTPListen != "" {
		s.acmeHTTP = s.acmeHTTPServer()
	}
	return s, nil
}

func newProducer(c config, keysDir string, log *slog.Logger, alerts *anomaly.Hub) (*events.Producer, error) {
	signer, err := events.LoadSigner(keysDir)
	if err != nil {
		return nil, err
	}
	requestLog, err := events.LoadRequestLogSigner(keysDir) // HMAC: the request log's rate calls for it
	if err != nil {
		return nil, err
	}
	p, err := events.NewProducer(events.ProducerConfig{
		Brokers: c.KafkaBrokers, Signer: signer, Logger: log,
		TopicSigners: map[string]*events.Signer{events.RequestLogTopic: requestLog},
		SpoolDir:     filepath.Join(c.stateDir(), "spool"), OnState: spoolReporter(log, alerts),
	})
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return p, nil
}

// spoolReporter says when the broker is lost or found and when the spool
// fills (events wait on disk meanwhile, and none is lost), in the log and
// as an events alert.
func spoolReporter(log *slog.Logger, alerts *anomaly.Hub) func(events.State) {
	return func(st events.State) {
		attrs := []any{"broker_up", st.BrokerUp, "spool_bytes", st.SpoolBytes, "spool_max_bytes", st.SpoolMaxBytes,
			"spool_records", st.SpoolRecords}
		a := anomaly.Alert{Kind: anomaly.KindEvents, Severity: anomaly.SeverityWarning, Action: anomaly.ActionDegraded,
			Evidence: map[string]any{"broker_up": st.BrokerUp, "spool_bytes": st.SpoolBytes,
				"spool_max_bytes": st.SpoolMaxBytes, "spool_records": st.SpoolRecords}}
		switch {
		case st.Level == events.SpoolFull:
			log.Error("event spool full: new events are refused (503) until the broker drains it", attrs...)
			a.Severity = anomaly.SeverityCritical
		case st.Level == events.SpoolHigh:
			log.Warn("event spool nearly full", attrs...)
		case !st.BrokerUp:
			log.Warn("kafka unreachable: events spool to disk and are sent when it returns", attrs...)
		default:
			log.Info("kafka reachable: spooled events are being sent", attrs...)
			a.Severity, a.Action = anomaly.SeverityInfo, anomaly.ActionNone
		}
		if _, _, err := alerts.Raise(a); err != nil {
			log.Error("events alert not raised", "err", err)
		}
	}
}

// addAlertSinks sends alerts to Kafka, and to an Alertmanager when
// alert_webhook_url is set.
func (s *stack) addAlertSinks() error {
	if err := s.alerts.AddSink("kafka", alertsToKafka(s.producer)); err != nil {
		return err
	}
	if s.cfg.AlertWebhookURL == "" {
		return nil
	}
	hook, err := anomaly.NewWebhookSink(s.cfg.AlertWebhookURL, nil)
	if err != nil {
		return fmt.Errorf("alert_webhook_url: %w", err)
	}
	return s.alerts.AddSink("webhook", hook)
}

// securityAlertsTopic carries every alert as JSON.
const securityAlertsTopic = "security-alerts"

// alertsToKafka sends alerts to the security-alerts topic (best effort: an
// alert about Kafka itself cannot wait on Kafka).
func alertsToKafka(p *events.Producer) anomaly.Sink {
	return anomaly.SinkFunc(func(_ context.Context, a anomaly.Alert) error {
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if !p.Send(securityAlertsTopic, []byte(a.Kind), b) {
			return errors.New("security-alerts: producer queue full")
		}
		return nil
	})
}

// newPolicy seeds the policy folder on first start and loads it, with a
// decision log in this instance's state folder (and on Kafka when asked).
func (s *stack) newPolicy(ctx context.Context) error {
	c := s.cfg
	if _, err := policy.Seed(c.PolicyDir); err != nil {
		return fmt.Errorf("seed policy: %w", err)
	}
	if err := os.MkdirAll(c.stateDir(), 0o700); err != nil {
		return fmt.Errorf("state folder: %w", err)
	}
	dl := policy.DecisionLogConfig{Path: filepath.Join(c.stateDir(), decisionLogFile), Instance: c.Instance, Logger: s.log}
	if c.DecisionsToKafka {
		dl.Sinks = append(dl.Sinks, kafkaDecisions{s.producer})
	}
	var err error
	if s.decisions, err = policy.NewDecisionLog(dl); err != nil {
		return fmt.Errorf("decision log: %w", err)
	}
	if s.engine, err = policy.NewEngine(ctx, c.PolicyDir, s.log, policy.WithDecisionLog(s.decisions)); err != nil {
		return fmt.Errorf("load policy: %w", err)
	}
	return nil
}

// policyChanged reports what the folder watcher did with an edit.
func (s *stack) policyChanged(rep policy.Report, err error) {
	if err != nil || rep.Applied {
		s.gw.PolicyAlert(rep, err, "policy folder")
	}
	if err != nil {
		s.gw.Metrics().PolicyEdit("rejected")
		s.log.Warn("policy edit rejected; the last good policy stays", "dir", s.cfg.PolicyDir, "err", err)
		return
	}
	if rep.Applied {
		s.gw.Metrics().PolicyEdit("applied")
		s.log.Info("policy edit applied", "revision", rep.Revision, "previous", rep.Previous,
			"replayed", rep.Replayed, "changed", len(rep.Changed))
	}
}

// newVerifier verifies tokens against the JWKS URL when one is configured,
// else the JWKS file (re-read when it changes, so keys rotate without a
// restart).
func newVerifier(ctx context.Context, c config, log *slog.Logger) (*auth.Verifier, error) {
	cfg := auth.JWKSConfig{Logger: log}
	var src *auth.JWKSProvider
	var err error
	if c.JWKSURL != "" {
		src, err = auth.NewURLJWKS(ctx, c.JWKSURL, cfg)
	} else {
		src, err = auth.NewFileJWKS(c.JWKSFile, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	return auth.NewVerifierFrom(src, auth.VerifierConfig{})
}

// producerCollectors report the request log's delivery as it happens.
func producerCollectors(p *events.Producer) []prometheus.Collector {
	counter := func(name, help string, get func(events.ProducerStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(get(p.Stats())) })
	}
	gauge := func(name, help string, get func(events.ProducerStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return get(p.Stats()) })
	}
	return []prometheus.Collector{
		counter("reelguard_events_sent_total", "Records the broker acknowledged.",
			func(s events.ProducerStats) uint64 { return s.Sent }),
		counter("reelguard_events_failed_total", "Records the broker did not take before the delivery timeout.",
			func(s events.ProducerStats) uint64 { return s.Failed }),
		counter("reelguard_events_dropped_total", "Best-effort records (the request log) dropped: queue or spool full.",
			func(s events.ProducerStats) uint64 { return s.Dropped }),
		counter("reelguard_events_refused_total", "Durable appends refused because the spool was full (answered 503).",
			func(s events.ProducerStats) uint64 { return s.Refused }),
		gauge("reelguard_events_spool_bytes", "Bytes of events waiting in the disk spool.",
			func(s events.ProducerStats) float64 { return float64(s.SpoolBytes) }),
		gauge("reelguard_events_spool_records", "Events waiting in the disk spool.",
			func(s events.ProducerStats) float64 { return float64(s.SpoolRecords) }),
		gauge("reelguard_events_broker_up", "1 while the Kafka broker takes records.",
			func(s events.ProducerStats) float64 { return map[bool]float64{true: 1}[s.BrokerUp] }),
	}
}

// newGuard shares limits, blocks and revocations through Redis when a URL
// is configured (one round trip per request), falling back to in-process
// limits at limit ÷ replicas, and saying so, while Redis is unreachable.
func (s *stack) newGuard(c config, m *gateway.Metrics, log *slog.Logger) (gateway.Guard, error) {
	if c.RedisURL == "" {
		return gateway.NewMemoryGuard(), nil
	}
	client, err := ratelimit.NewRedisClient(c.RedisURL)
	if err != nil {
		return nil, err
	}
	s.redis = client
	redis.SetLogger(quietRedis{})
	s.limits = ratelimit.NewRedis(client, "reelguard")
	fallback := ratelimit.NewFallbackWith(s.limits, ratelimit.NewMemory(s.limits.DenyList()), ratelimit.FallbackOptions{
		Replicas: c.Replicas, FailClosed: c.LimiterFailClosed,
		OnChange: func(degraded bool) {
			a := anomaly.Alert{Kind: anomaly.KindLimiter, Severity: anomaly.SeverityInfo, Action: anomaly.ActionNone,
				Evidence: map[string]any{"redis": "reachable", "replicas": c.Replicas}}
			if degraded {
				m.LimiterDegraded.Set(1)
				log.Warn("redis unreachable: in-process limits, local block and revocation lists in use", "replicas", c.Replicas)
				a.Severity, a.Action = anomaly.SeverityWarning, anomaly.ActionDegraded
				a.Evidence["redis"], a.Evidence["fallback"] = "unreachable", "in-process limit ÷ replicas"
			} else {
				m.LimiterDegraded.Set(0)
				log.Info("redis reachable again: shared limits in use")
			}
			go func() { _, _, _ = s.alerts.Raise(a) }() // OnChange must stay quick
		},
	})
	return gateway.NewRedisGuard(s.limits, fallback), nil
}

// quietRedis drops go-redis's own log lines: the guard reports Redis
// trouble once, as a metric and a log line of ours, not per dial.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// run serves the public and admin listeners until ctx ends, a signal
// arrives or either server fails; then it stops both.
func (s *stack) run(ctx context.Context) error {
	pub, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("public listener: %w", err)
	}
	adm, err := net.Listen("tcp", s.cfg.AdminListen)
	if err != nil {
		pub.Close()
		return fmt.Errorf("admin listener: %w", err)
	}
	s.log.Info("gateway listening", "public", "https://"+pub.Addr().String(),
		"admin", "http://"+adm.Addr().String(), "upstream", s.cfg.Upstream, "instance", s.cfg.Instance)
	var g run.Group
	g.Add(func() error { return s.gw.ServePublic(s.public, pub) }, func(error) { shutdown(s.public) })
	g.Add(func() error { return serveAdmin(s.admin, adm) }, func(error) { shutdown(s.admin) })
	if err := s.addACMEHTTP(&g); err != nil {
		pub.Close()
		adm.Close()
		return err
	}
	if s.limits != nil {
		syncCtx, stopSync := context.WithCancel(ctx)
		g.Add(func() error { return s.limits.Run(syncCtx) }, func(error) { stopSync() })
	}
	importer, err := s.alertImporter()
	if err != nil {
		return err
	}
	importCtx, stopImport := context.WithCancel(ctx)
	g.Add(func() error { return importer.Run(importCtx) }, func(error) { stopImport() })
	if err := s.addActivity(ctx, &g); err != nil {
		return err
	}
	fallbackCtx, stopFallback := context.WithCancel(ctx)
	g.Add(func() error { return s.gw.Run(fallbackCtx) }, func(error) { stopFallback() })
	watchCtx, stopWatch := context.WithCancel(ctx)
	g.Add(func() error {
		s.engine.Watch(watchCtx, time.Second, s.policyChanged)
		return watchCtx.Err()
	}, func(error) { stopWatch() })
	g.Add(run.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))
	err = g.Run()
	if errors.Is(err, run.ErrSignal) {
		s.log.Info("gateway stopping", "signal", err.Error())
		return nil
	}
	return err
}

func serveAdmin(srv *http.Server, l net.Listener) error {
	if err := srv.Serve(l); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

func (s *stack) close() {
	if s.acme != nil {
		s.acme.Close()
	}
	if s.gw != nil {
		_ = s.gw.Close()
	}
	if s.decisions != nil {
		_ = s.decisions.Close()
	}
	if s.alerts != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.alerts.Close(ctx)
		cancel()
	}
	if s.producer != nil {
		_ = s.producer.Close()
	}
	if s.redis != nil {
		_ = s.redis.Close()
	}
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}
