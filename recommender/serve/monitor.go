package serve

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reelguard/reelguard/recommender"
)

// MonitorConfig tunes NewMonitorHandler; the zero value works.
type MonitorConfig struct {
	// Rule decides GET /promotion and the promotable gauge; zero: defaults.
	Rule recommender.CanaryRule
	// Main and Canary name the versions the promotable gauge compares;
	// either empty: no gauge (GET /promotion still answers for any pair).
	Main, Canary string
	// Registry gets the monitor's collector; nil: a new one. Other
	// collectors (the consumer's counters) may be registered in it.
	Registry *prometheus.Registry
}

// MonitorHandler serves an OnlineMonitor's figures: GET /metrics
// (Prometheus, reelguard_online_*, one series per model version, computed
// at the monitor's watermark when scraped), GET /promotion?canary=V[&main=W]
// (CheckCanary's verdict as JSON) and GET /healthz.
type MonitorHandler struct {
	mon *recommender.OnlineMonitor
	cfg MonitorConfig
	mux *http.ServeMux
}

// NewMonitorHandler returns the monitor's HTTP API over mon.
func NewMonitorHandler(mon *recommender.OnlineMonitor, cfg MonitorConfig) *MonitorHandler {
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	h := &MonitorHandler{mon: mon, cfg: cfg, mux: http.NewServeMux()}
	cfg.Registry.MustRegister(onlineCollector{h})
	h.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	h.mux.HandleFunc("GET /promotion", h.promotion)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok\n") })
	h.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found", "not_found")
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *MonitorHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(w, r)
}

// PromotionAnswer is the JSON body of GET /promotion.
type PromotionAnswer struct {
	Main       string  `json:"main"`
	Canary     string  `json:"canary"`
	Promote    bool    `json:"promote"`
	Reason     string  `json:"reason"`
	Detail     string  `json:"detail,omitempty"`
	Diff       float64 `json:"quality_diff"`
	LowerBound float64 `json:"lower_bound"`
	// Watermark is the event time the figures are computed at (RFC 3339).
	Watermark string `json:"watermark"`
}

// promotion answers whether canary may replace main; main defaults to
// MonitorConfig.Main, else the version with the most settled answers
// other than canary.
func (h *MonitorHandler) promotion(w http.ResponseWriter, r *http.Request) {
	snap := h.mon.Snapshot()
	canary := r.URL.Query().Get("canary")
	main := r.URL.Query().Get("main")
	if canary == "" {
		canary = h.cfg.Canary
	}
	if main == "" {
		main = h.cfg.Main
	}
	if main == "" {
		main = busiestOther(snap, canary)
	}
	if canary == "" || main == "" || canary == main {
		writeError(w, http.StatusBadRequest, "name a canary version, and a main one unless another is live", "bad_versions")
		return
	}
	ans := h.verdict(snap, main, canary)
	writeJSON(w, http.StatusOK, ans)
}

func (h *MonitorHandler) verdict(snap recommender.OnlineSnapshot, main, canary string) PromotionAnswer {
	ms, _ := snap.Version(main)
	cs, _ := snap.Version(canary)
	v, err := recommender.CheckCanary(ms, cs, h.cfg.Rule)
	ans := PromotionAnswer{Main: main, Canary: canary, Promote: v.Promote, Reason: v.Reason,
		Diff: v.Diff, LowerBound: v.LowerBound, Watermark: snap.At.UTC().Format("2006-01-02T15:04:05Z07:00")}
	if err != nil {
		ans.Detail = err.Error()
	}
	if v.Reason == "insufficient_data" {
		ans.LowerBound = 0 // -Inf does not encode as JSON
	}
	return ans
}

// busiestOther is the version other than not with the most settled
// answers, ties broken by name; "" when there is none.
func busiestOther(snap recommender.OnlineSnapshot, not string) string {
	best, n := "", -1
	for _, v := range snap.Versions {
		if v.Version != not && v.Version != recommender.UnknownModel && v.Settled > n {
			best, n = v.Version, v.Settled
		}
	}
	return best
}

// onlineCollector turns a snapshot into const metrics at each scrape.
type onlineCollector struct{ h *MonitorHandler }

var (
	onlineLabels = []string{"version"}
	descQuality  = prometheus.NewDesc("reelguard_online_quality",
		"Share of settled 200 answers followed by a watch of one of their movies by the same user within the attribution window.", onlineLabels, nil)
	descSettled = prometheus.NewDesc("reelguard_online_settled_answers",
		"200 answers whose attribution window has passed, in the window ending that long before the watermark.", onlineLabels, nil)
	descConverted = prometheus.NewDesc("reelguard_online_converted_answers",
		"Settled answers followed by a watch of one of their movies.", onlineLabels, nil)
	descAnswers = prometheus.NewDesc("reelguard_online_answers",
		"Answers in the window, of any status.", onlineLabels, nil)
	descAvailability = prometheus.NewDesc("reelguard_online_availability",
		"Share of the window's answers with status 200.", onlineLabels, nil)
	descLatency = prometheus.NewDesc("reelguard_online_latency_seconds",
		"Latency percentiles (nearest rank) of the window's answers, as the request log shows them.", []string{"version", "quantile"}, nil)
	descPersonalization = prometheus.NewDesc("reelguard_online_personalization",
		"1 - mean Jaccard similarity of pairs of users' latest lists in the window.", onlineLabels, nil)
	descDistinct = prometheus.NewDesc("reelguard_online_distinct_list_share",
		"Distinct lists (as sets) over users with a list in the window.", onlineLabels, nil)
	descPromotable = prometheus.NewDesc("reelguard_online_canary_promotable",
		"1 when the canary is shown not worse online than main (CheckCanary), else 0.", []string{"main", "canary", "reason"}, nil)
)

func (c onlineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQuality, descSettled, descConverted, descAnswers, descAvailability,
		descLatency, descPersonalization, descDistinct, descPromotable} {
		ch <- d
	}
}

func (c onlineCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.h.mon.Snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, v := range snap.Versions {
		gauge(descQuality, v.Quality, v.Version)
		gauge(descSettled, float64(v.Settled), v.Version)
		gauge(descConverted, float64(v.Converted), v.Version)
		gauge(descAnswers, float64(v.Answers), v.Version)
		gauge(descAvailability, v.Availability, v.Version)
		gauge(descPersonalization, v.Personalization, v.Version)
		gauge(descDistinct, ratio(v.DistinctLists, v.Lists), v.Version)
		for q, d := range map[string]float64{"0.5": v.LatencyP50.Seconds(), "0.9": v.LatencyP90.Seconds(), "0.99": v.LatencyP99.Seconds()} {
			gauge(descLatency, d, v.Version, q)
		}
	}
	if c.h.cfg.Main != "" && c.h.cfg.Canary != "" {
		ans := c.h.verdict(snap, c.h.cfg.Main, c.h.cfg.Canary)
		promote := 0.0
		if ans.Promote {
			promote = 1
		}
		gauge(descPromotable, promote, ans.Main, ans.Canary, ans.Reason)
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
