package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strings"
	"time"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/gateway/dashboard"
	"github.com/reelguard/reelguard/gateway/ratelimit"
	"github.com/reelguard/reelguard/policy"
)

// Authenticator turns a bearer token into a principal.
type Authenticator interface {
	VerifyContext(ctx context.Context, token string) (auth.Principal, error)
}

// Decider answers the policy question for one request. Any error is a deny.
type Decider interface {
	Decide(ctx context.Context, in policy.Input) (policy.Decision, error)
}

// RecordSink takes a record for Kafka without blocking; false means dropped.
// Headers travel unsigned beside the envelope (events.Header).
type RecordSink interface {
	Send(topic string, key, value []byte, headers ...events.Header) bool
}

// Deps are the parts the gateway composes. Auth and Policy are required;
// Log may be nil (no request log).
type Deps struct {
	Auth   Authenticator
	Policy Decider
	// Guard decides blocks, revocation and the principal's limit after
	// policy; nil: an in-process one (NewMemoryGuard).
	Guard Guard
	Log   RecordSink
	// Alerts is where the gateway raises alerts; nil: a new hub.
	Alerts *anomaly.Hub
	// Monitor holds the extraction and flood detectors; nil: the defaults.
	Monitor *anomaly.Monitor
	// Events takes POST /events durably; nil: the route answers 503.
	Events EventSink
	Logger *slog.Logger
	// Metrics is where the gateway's collectors live; nil makes a new set.
	Metrics *Metrics
}

// Gateway is the request path. Build it with New, serve Handler on the
// public TLS listener and AdminHandler on the admin listener, Close it last.
type Gateway struct {
	cfg     Config
	auth    Authenticator
	policy  Decider
	checker Guard
	alerts  *anomaly.Hub
	monitor *anomaly.Monitor
	// offences escalates the TTL of detector blocks for repeat offenders;
	// the blocks themselves go on the guard's shared list.
	offences *anomaly.Blocks
	events   EventSink
	preAuth  *ratelimit.IPLimiter
	shed     *shedder
	// The retrieval service's circuit breaker, and the cached popular list
	// served while it is open or failing.
	breaker  breaker
	fallback *fallback
	// answers caches recent answers per user (nil when AnswerCacheTTL < 0).
	answers *answerCache
	// warm serves public requests on goroutines with grown stacks.
	warm    *warmPool
	proxy   http.Handler
	reqLog  *requestLog
	metrics *Metrics
	log     *slog.Logger
}

// New validates cfg and wires the request path.
func New(cfg Config, d Deps) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Auth == nil || d.Policy == nil {
		return nil, errors.New("gateway: auth and policy are required")
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics()
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Events == nil {
		d.Events = noEvents{}
	}
	if d.Alerts == nil {
		d.Alerts = anomaly.NewHub(anomaly.HubConfig{Logger: d.Logger})
	}
	if d.Monitor == nil {
		mc := anomaly.DefaultConfig()
		mc.Shadow = cfg.DetectorsShadow
		m, err := anomaly.NewMonitor(mc)
		if err != nil {
			return nil, err
		}
		d.Monitor = m
	}
	if d.Guard == nil {
		d.Guard = NewMemoryGuard()
	}
	g := &Gateway{
		cfg:      cfg,
		auth:     d.Auth,
		policy:   d.Policy,
		checker:  d.Guard,
		alerts:   d.Alerts,
		monitor:  d.Monitor,
		offences: anomaly.NewBlocks(anomaly.BlocksConfig{}),
		events:   d.Events,
		preAuth:  ratelimit.NewIPLimiter(cfg.PreAuth),
		shed:     newShedder(cfg.MaxInFlight),
		warm:     newWarmPool(min(cfg.MaxInFlight, maxWarmWorkers)),
		metrics:  d.Metrics,
		log:      d.Logger,
	}
	g.warm.busy = func() bool { return g.shed.inFlight.Load() >= int64(runtime.GOMAXPROCS(0)) }
	if err := g.watchHealth(); err != nil {
		return nil, err
	}
	g.reqLog = newRequestLog(d.Log, cfg, g.metrics, d.Logger)
	if cfg.AnswerCacheTTL > 0 {
		g.answers = newAnswerCache(cfg.AnswerCacheTTL, cfg.AnswerCacheSize)
	}
	g.fallback = &fallback{url: strings.TrimSuffix(cfg.Upstream, "/") + "/popular",
		client: &http.Client{Timeout: cfg.UpstreamTimeout, Transport: &http.Transport{TLSClientConfig: cfg.UpstreamTLS}}}
	proxy, err := newProxy(cfg, g.upstreamFailed, g.breaker.success)
	if err != nil {
		return nil, err
	}
	g.proxy = proxy
	return g, nil
}

// Metrics returns the gateway's Prometheus collectors, for wiring code that
// reports on parts outside the request path (the limiter's fallback, say).
func (g *Gateway) Metrics() *Metrics { return g.metrics }

// Close stops the request-log worker after it has handed over what it holds.
func (g *Gateway) Close() error {
	g.warm.close()
	g.reqLog.close()
	return nil
}

// Handler is the public API: DESIGN.md's routes behind the whole chain.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", ok)
	mux.Handle("GET /recommend/{userid}", g.protect("recommend", http.HandlerFunc(g.recommend)))
	mux.HandleFunc("/recommend/{userid}", methodNotAllowed)
	mux.Handle("POST /events", g.protect("events", http.HandlerFunc(g.ingest)))
	mux.HandleFunc("/events", methodNotAllowed)
	mux.HandleFunc("/", notFound)
	return g.warm.handler(g.guard(mux))
}

// PolicyAdmin is the policy engine as the admin API sees it.
type PolicyAdmin interface {
	Status() policy.Status
	Propose(ctx context.Context, files map[string][]byte) (policy.Report, error)
}

// AdminHandler serves the admin listener: metrics for Prometheus and the
// admin API, which requires a token the policy lets through.
func (g *Gateway) AdminHandler(pol PolicyAdmin) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", ok)
	mux.Handle("GET /metrics", g.metrics.Handler())
	if pol != nil {
		mux.Handle("GET /admin/policy", g.protectAdmin(jsonHandler(func() any { return pol.Status() })))
		mux.Handle("PUT /admin/policy", g.protectAdmin(g.putPolicy(pol)))
	}
	mux.Handle("GET /dashboard/", dashboard.Handler())
	mux.Handle("PUT /admin/revocations/{sub}/{jti}", g.protectAdmin(http.HandlerFunc(g.putRevocation)))
	mux.Handle("GET /admin/alerts", g.protectAdmin(jsonHandler(func() any { return g.alerts.Recent(0) })))
	mux.Handle("GET /admin/alerts/stream", g.protectAdmin(http.HandlerFunc(g.alertStream)))
	mux.Handle("GET /admin/stats", g.protectAdmin(g.statsHandler(pol)))
	// Go's profiles, for admins (what cmd/gateway/default.pgo is built
	// from), under /admin/ like the rest of the admin API.
	mux.Handle("GET /admin/debug/pprof/", g.protectAdmin(http.StripPrefix("/admin", http.HandlerFunc(pprof.Index))))
	mux.Handle("GET /admin/debug/pprof/profile", g.protectAdmin(http.StripPrefix("/admin", http.HandlerFunc(pprof.Profile))))
	mux.Handle("GET /admin/debug/pprof/trace", g.protectAdmin(http.StripPrefix("/admin", http.HandlerFunc(pprof.Trace))))
	mux.Handle("GET /admin/blocks", g.protectAdmin(jsonHandler(func() any { return g.checker.Blocks() })))
	mux.Handle("PUT /admin/blocks/{kind}/{value}", g.protectAdmin(http.HandlerFunc(g.putBlock)))
	mux.Handle("DELETE /admin/blocks/{kind}/{value}", g.protectAdmin(http.HandlerFunc(g.deleteBlock)))
	mux.HandleFunc("/", notFound)
	return securityHeaders(mux)
}

// recommend proxies an allowed request, unless the breaker is open, and
// hands the answer to the request log.
func (g *Gateway) recommend(w http.ResponseWriter, r *http.Request) {
	rec := newRecorder(w, requestLogCapture)
	user := r.PathValue("userid")
	if degraded(r.Context()) {
		held := newHeldAnswer()
		g.answer(held, r, user)
		writeDegraded(rec, held, g.cfg.DegradedItems)
		g.metrics.degraded.Inc()
	} else {
		g.answer(rec, r, user)
	}
	g.reqLog.add(user, rec, requestStart(r.Context()))
}

// answer serves user's recommendations to rec: from the answer cache, the
// retrieval service, or the fallback when its breaker is open.
func (g *Gateway) answer(rec *recorder, r *http.Request, user string) {
	now := time.Now()
	key := answerKey{user: user, json: strings.Contains(r.Header.Get("Accept"), "application/json")}
	a, hit := g.answers.get(key, now)
	if !hit {
		// Requests for an answer being fetched wait for that fetch.
		if wait, lead := g.answers.fetch(key); lead {
			defer g.answers.fetched(key)
		} else {
			g.metrics.answerCache.WithLabelValues("shared").Inc()
			g.awaitFetch(r, wait)
			now = time.Now()
			a, hit = g.answers.get(key, now)
		}
	}
	switch {
	case hit:
		g.metrics.answerCache.WithLabelValues("hit").Inc()
		a.serve(rec)
	case g.breaker.allow(now):
		g.metrics.answerCache.WithLabelValues("miss").Inc()
		g.proxy.ServeHTTP(rec, r)
		if rec.Header().Get(fallbackHeader) == "" {
			g.answers.put(key, rec, now)
		}
	default:
		g.degrade(rec, r)
	}
}

// awaitFetch waits for another request's fetch of the same answer to end
// (wait closed), at most the upstream timeout and while the client waits.
// If it ends without an answer to keep (a failure, a fallback), the waiter
// asks for itself.
func (g *Gateway) awaitFetch(r *http.Request, wait <-chan struct{}) {
	t := time.NewTimer(g.cfg.UpstreamTimeout)
	defer t.Stop()
	select {
	case <-wait:
	case <-t.C:
	case <-r.Context().Done():
	}
}

// degrade answers without the retrieval service: the cached popular list,
// marked as a fallback, or 503 when there is none yet.
func (g *Gateway) degrade(w http.ResponseWriter, r *http.Request) {
	if g.fallback.serve(w, r) {
		g.metrics.fallbacks.Inc()
		return
	}
	writeError(w, http.StatusServiceUnavailable, "upstream_unavailable", "recommendation service unavailable")
}

func ok(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "not_found", "no such route")
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route")
}

// noEvents is the EventSink of a gateway built without one.
type noEvents struct{}

func (noEvents) AppendBatch(context.Context, []events.Record) error {
	return errors.New("no event sink configured")
}

// upstreamFailed counts a failure of the retrieval service against its
// breaker, raises the upstream alert (folded by the hub while the failures
// continue) and answers in degraded mode.
func (g *Gateway) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	g.metrics.upstreamErrors.Inc()
	g.log.Warn("upstream failed", "err", err, "path", r.URL.Path)
	g.breaker.failure(time.Now())
	action := anomaly.ActionNone
	if g.fallback.list.Load() != nil {
		action = anomaly.ActionDegraded
	}
	g.raise(anomaly.Alert{Kind: anomaly.KindUpstream, Severity: anomaly.SeverityWarning, Action: action,
		Evidence: map[string]any{"error": err.Error(), "fallback": action == anomaly.ActionDegraded}})
	g.degrade(w, r)
}
