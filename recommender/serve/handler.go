// Package serve holds the recommender's HTTP handlers: the course project's
// GET /recommend/{userid}, health and readiness probes and Prometheus
// metrics. The model and its result cache sit behind one atomic pointer, so
// a newly trained model replaces the old one (and its cached answers)
// without a restart, a dropped request or a lock on the request path; a
// Reloader watches the model folder and does the swapping. A canary model
// (CanaryConfig) may serve a fixed, sticky share of users beside it, and
// every answer names the version that produced it. MonitorHandler serves
// the online figures of `recommender monitor`.
package serve

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reelguard/reelguard/recommender"
)

// MaxItems is how many ids GET /recommend/{userid} returns at most.
const MaxItems = 20

// Config tunes a Handler; the zero value works.
type Config struct {
	// CacheSize bounds each model's result cache, in answers; 0 means
	// DefaultCacheSize and a negative value turns the cache off.
	CacheSize int
	// Logger receives swap and error reports; nil discards.
	Logger *slog.Logger
	// Metrics collects the handler's figures; nil means a fresh NewMetrics.
	Metrics *Metrics
	// Canary serves a share of users from a candidate model; the zero value
	// serves everyone from the main model.
	Canary CanaryConfig
	// AccessLog writes one Info line per answered recommendation, naming the
	// model version and arm that produced it; default off.
	AccessLog bool
}

// Handler serves the recommender API. Its zero value is not usable; use New
// or NewHandler.
type Handler struct {
	// current pairs the model with its result cache: a request loads both at
	// once, and a swap replaces both, so a cached answer never outlives its
	// model.
	current   atomic.Pointer[served]
	cacheSize int
	logger    *slog.Logger
	metrics   *Metrics
	mux       *http.ServeMux
	swapMu    sync.Mutex // orders concurrent swaps' metric updates
	accessLog bool

	// canary is the candidate model, nil until one is loaded; canaryCut is
	// how many of the CanaryBuckets buckets it serves (0: none).
	canary    atomic.Pointer[served]
	canaryCut int
	canaryDir string
	// models is the X-Reelguard-Models value: the live versions, main first.
	models atomic.Pointer[string]
}

type served struct {
	model    *recommender.Model
	cache    *resultCache // nil when caching is off
	arm      string       // ArmMain or ArmCanary
	answered prometheus.Counter
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the API over m with the default Config and logger.
func NewHandler(m *recommender.Model, logger *slog.Logger) *Handler {
	return New(m, Config{Logger: logger})
}

// New returns the API over m. m may be nil: /readyz then answers 503 until
// SetModel or Swap supplies one.
func New(m *recommender.Model, cfg Config) *Handler {
	h := &Handler{cacheSize: cfg.CacheSize, logger: cfg.Logger, metrics: cfg.Metrics, mux: http.NewServeMux(),
		accessLog: cfg.AccessLog, canaryCut: canaryCut(cfg.Canary.Share), canaryDir: cfg.Canary.Dir}
	if h.cacheSize == 0 {
		h.cacheSize = DefaultCacheSize
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.metrics == nil {
		h.metrics = NewMetrics()
	}
	h.metrics.canaryShare.Set(float64(h.canaryCut) / CanaryBuckets)
	h.store(m)
	h.route("/recommend/{userid}", h.recommend)
	h.route("/popular", h.popular)
	h.route("/healthz", h.healthz)
	h.route("/readyz", h.readyz)
	h.route("/metrics", h.metrics.Handler().ServeHTTP)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found", "not_found")
	})
	return h
}

// route registers GET (and so HEAD) for path, and a JSON 405 for other methods.
// The method-less pattern is less specific, so it only catches the rest.
func (h *Handler) route(path string, fn http.HandlerFunc) {
	h.mux.HandleFunc("GET "+path, fn)
	h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed", "method_not_allowed")
	})
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(w, r)
}

// Metrics returns the handler's collectors, for a reloader to count on.
func (h *Handler) Metrics() *Metrics { return h.metrics }

// Model returns the model being served, nil when none is loaded.
func (h *Handler) Model() *recommender.Model {
	if s := h.current.Load(); s != nil {
		return s.model
	}
	return nil
}

// Swap serves m, with a new empty result cache, from the next request on and
// returns the model it replaces. Requests already running finish on the old
// model. m is warmed (its indexes built) before it goes live.
func (h *Handler) Swap(m *recommender.Model) *recommender.Model {
	return h.store(m)
}

// SetModel serves m from the next request on; see Swap.
func (h *Handler) SetModel(m *recommender.Model) { h.store(m) }

func (h *Handler) store(m *recommender.Model) *recommender.Model {
	return h.storeArm(&h.current, ArmMain, m)
}

// storeArm serves m on one arm (main or canary) from the next request on,
// with an empty result cache, and returns the model it replaces.
func (h *Handler) storeArm(slot *atomic.Pointer[served], arm string, m *recommender.Model) *recommender.Model {
	m.Warm()
	next := &served{model: m, cache: newResultCache(h.cacheSize), arm: arm}
	if m != nil {
		next.answered = h.metrics.answers.WithLabelValues(m.Version(), arm)
	}
	h.swapMu.Lock()
	defer h.swapMu.Unlock()
	old := slot.Swap(next)
	h.metrics.servingArm(arm, m)
	h.models.Store(h.liveVersions())
	if old == nil || old.model == nil {
		return nil
	}
	if m == nil || old.model.Version() != m.Version() {
		h.metrics.answers.DeleteLabelValues(old.model.Version(), arm)
	}
	h.metrics.swaps.Inc()
	return old.model
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeText(w, http.StatusOK, "ok\n")
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	if h.Model() == nil {
		writeError(w, http.StatusServiceUnavailable, "no model loaded", "model_unavailable")
		return
	}
	writeText(w, http.StatusOK, "ok\n")
}

// wantsJSON reports whether the Accept header asks for application/json
// (with a non-zero quality); anything else gets the course's text format.
func wantsJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mediaType, params, _ := strings.Cut(part, ";")
		if strings.EqualFold(strings.TrimSpace(mediaType), "application/json") && !zeroQuality(params) {
			return true
		}
	}
	return false
}

// zeroQuality reports whether media-type parameters carry q=0, which means
// "not acceptable".
func zeroQuality(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}
