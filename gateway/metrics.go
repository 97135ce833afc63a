package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/reelguard/reelguard/anomaly"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the gateway's Prometheus collectors, all named reelguard_*,
// in a registry of their own.
type Metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	authFailures    *prometheus.CounterVec
	policyDenials   *prometheus.CounterVec
	rateLimited     *prometheus.CounterVec
	limiterErrors   prometheus.Counter
	upstreamErrors  prometheus.Counter
	requestLog      *prometheus.CounterVec
	connRejected    prometheus.Counter
	policyEdits     *prometheus.CounterVec
	ingested        *prometheus.CounterVec
	blocked         *prometheus.CounterVec
	shed            prometheus.Counter
	fallbacks       prometheus.Counter
	degraded        prometheus.Counter
	alerts          *prometheus.CounterVec
	answerCache     *prometheus.CounterVec
	LimiterDegraded prometheus.Gauge
}

// NewMetrics registers the gateway's collectors and Go runtime metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_http_requests_total", Help: "Requests answered, by route and status code."},
			[]string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "reelguard_http_request_duration_seconds", Help: "Time to answer, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}},
			[]string{"route"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_auth_failures_total", Help: "Requests refused with 401, by reason."},
			[]string{"reason"}),
		policyDenials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_policy_denials_total", Help: "Requests refused by policy, by reason."},
			[]string{"reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_rate_limited_total", Help: "Requests refused with 429, by stage (ip, principal)."},
			[]string{"stage"}),
		limiterErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reelguard_limiter_errors_total", Help: "Requests the guard could not judge (refused)."}),
		upstreamErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reelguard_upstream_errors_total", Help: "Proxied requests that failed upstream."}),
		requestLog: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_request_log_records_total", Help: "Request-log records, by result (queued, dropped)."},
			[]string{"result"}),
		connRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reelguard_connections_rejected_total", Help: "Connections closed at accept for exceeding the per-IP cap."}),
		policyEdits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_policy_edits_total", Help: "Policy edits through the gate, by result (applied, rejected)."},
			[]string{"result"}),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_ingested_events_total", Help: "Events posted to /events, by result (accepted, rejected)."},
			[]string{"result"}),
		blocked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_blocked_requests_total", Help: "Requests refused by the block list, by kind (ip, subject)."},
			[]string{"kind"}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reelguard_shed_requests_total", Help: "Requests shed with 503 because too many were in flight."}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reelguard_fallback_answers_total", Help: "Recommendation requests answered from the cached popular list."}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_alerts_total", Help: "Alerts raised (after deduplication), by kind, severity and action."},
			[]string{"kind", "severity", "action"}),
		degraded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reelguard_degraded_answers_total", Help: "Recommendation answers cut to fewer items without scores by the policy's degrade obligation."}),
		answerCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_answer_cache_total", Help: "Recommendation answers by cache result (hit, miss; shared: a miss that waited for another request's fetch of the same answer, then counted as hit or miss)."},
			[]string{"result"}),
		LimiterDegraded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "reelguard_limiter_degraded", Help: "1 while the shared limiter is unreachable and the in-process fallback is in use."}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.authFailures, m.policyDenials, m.rateLimited,
		m.limiterErrors, m.upstreamErrors, m.requestLog, m.connRejected, m.policyEdits, m.ingested, m.blocked, m.shed, m.fallbacks, m.degraded, m.alerts, m.answerCache, m.LimiterDegraded,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register adds collectors of other parts (the event producer, say) to the
// gateway's registry.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// PolicyEdit counts one edit through the gate (result "applied" or
// "rejected"), for the parts that apply edits outside the admin API.
func (m *Metrics) PolicyEdit(result string) { m.policyEdits.WithLabelValues(result).Inc() }

// Handler serves the registry in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) observe(route string, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// watchHealth counts every alert the hub raises, by kind, and exports the
// upstream's health as its breaker sees it.
func (g *Gateway) watchHealth() error {
	err := g.alerts.AddSink("metrics", anomaly.SinkFunc(func(_ context.Context, a anomaly.Alert) error {
		g.metrics.alerts.WithLabelValues(string(a.Kind), string(a.Severity), string(a.Action)).Inc()
		return nil
	}))
	if err != nil {
		return fmt.Errorf("gateway: alert metrics: %w", err)
	}
	return g.metrics.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "reelguard_upstream_up",
		Help: "1 while the retrieval service's circuit breaker is closed, 0 while it is open (answers come from the fallback).",
	}, func() float64 {
		if g.breaker.closed() {
			return 1
		}
		return 0
	}))
}
