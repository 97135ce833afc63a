package serve

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reelguard/reelguard/recommender"
)

// Metrics are the recommender's Prometheus collectors, all named
// reelguard_recommender_*, in a registry of their own.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	ok           prometheus.Counter // requests{code="200"}, looked up once
	duration     prometheus.Histogram
	modelInfo    *prometheus.GaugeVec
	swaps        prometheus.Counter
	swapFailures prometheus.Counter
	cacheHits    prometheus.Counter
	cacheMisses  prometheus.Counter
	answers      *prometheus.CounterVec // by version and arm
	canaryInfo   *prometheus.GaugeVec
	canaryShare  prometheus.Gauge
}

// NewMetrics registers the recommender's collectors and Go runtime metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_recommender_requests_total", Help: "Requests answered, by status code."},
			[]string{"code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "reelguard_recommender_request_duration_seconds", Help: "Time to answer GET /recommend/{userid}.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25}}),
		modelInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reelguard_recommender_model_info", Help: "1 for the model being served, by version and kind."},
			[]string{"version", "kind"}),
		swaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reelguard_recommender_model_swaps_total", Help: "Models swapped in while serving."}),
		swapFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reelguard_recommender_model_swap_failures_total", Help: "Reloads that failed and kept the current model."}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reelguard_recommender_cache_hits_total", Help: "Recommendations answered from the result cache."}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reelguard_recommender_cache_misses_total", Help: "Recommendations computed (cache miss or cache off)."}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reelguard_recommender_model_answers_total",
			Help: "Recommendations answered (status 200) by the model version and arm (main or canary) that produced them; a version's series goes when it stops being served."},
			[]string{"version", "arm"}),
		canaryInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reelguard_recommender_canary_info", Help: "1 for the canary model being served, by version and kind; absent when none is loaded."},
			[]string{"version", "kind"}),
		canaryShare: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "reelguard_recommender_canary_share", Help: "Configured share of users (0..1, in steps of 1/10000) routed to the canary model."}),
	}
	m.ok = m.requests.WithLabelValues("200")
	m.reg.MustRegister(m.requests, m.duration, m.modelInfo, m.swaps, m.swapFailures, m.cacheHits, m.cacheMisses,
		m.answers, m.canaryInfo, m.canaryShare,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// SwapFailed counts a reload that kept the current model.
func (m *Metrics) SwapFailed() { m.swapFailures.Inc() }

func (m *Metrics) observe(status int, d time.Duration) {
	if status == http.StatusOK {
		m.ok.Inc()
	} else {
		m.requests.WithLabelValues(strconv.Itoa(status)).Inc()
	}
	m.duration.Observe(d.Seconds())
}

// servingArm moves the arm's info gauge to model (nil: none).
func (m *Metrics) servingArm(arm string, model *recommender.Model) {
	info := m.modelInfo
	if arm == ArmCanary {
		info = m.canaryInfo
	}
	info.Reset()
	if model != nil {
		info.WithLabelValues(model.Version(), string(model.Meta().Kind)).Set(1)
	}
}
