// Package serve holds the recommender's HTTP handlers: the course project's
// GET /recommend/{userid} plus health and readiness probes. The model sits
// behind an atomic pointer so a newly trained model replaces the old one
// without a restart or a lock on the request path.
package serve

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/reelguard/reelguard/recommender"
)

// MaxItems is how many ids GET /recommend/{userid} returns at most.
const MaxItems = 20

// Handler serves the recommender API. Its zero value is not usable; use NewHandler.
type Handler struct {
	model  atomic.Pointer[recommender.Model]
	logger *slog.Logger
	mux    *http.ServeMux
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the API over m. m may be nil: /readyz then answers 503
// until SetModel or Swap supplies one. A nil logger discards.
func NewHandler(m *recommender.Model, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{logger: logger, mux: http.NewServeMux()}
	h.model.Store(m)
	h.route("/recommend/{userid}", h.recommend)
	h.route("/healthz", h.healthz)
	h.route("/readyz", h.readyz)
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

// Model returns the model being served, nil when none is loaded.
func (h *Handler) Model() *recommender.Model { return h.model.Load() }

// Swap serves m from the next request on and returns the model it replaces.
func (h *Handler) Swap(m *recommender.Model) *recommender.Model { return h.model.Swap(m) }

// SetModel serves m from the next request on.
func (h *Handler) SetModel(m *recommender.Model) { h.model.Store(m) }

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeText(w, http.StatusOK, "ok\n")
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	if h.model.Load() == nil {
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
