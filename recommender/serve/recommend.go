package serve

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

// Response is the JSON body of GET /recommend/{userid}.
type Response struct {
	User  string               `json:"user"`
	Items []recommender.Scored `json:"items"`
	Model string               `json:"model"`
	// Fallback is always false here: the gateway sets it when it answers from
	// its cache because this service failed.
	Fallback bool `json:"fallback"`
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

func (h *Handler) recommend(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status := h.answer(w, r)
	h.metrics.observe(status, time.Since(start))
}

// answer writes the response for GET /recommend/{userid} and returns its
// status: from the current model's cache when it holds the answer.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request) int {
	user := r.PathValue("userid")
	if !recommender.IsUserID(user) {
		writeError(w, http.StatusBadRequest, "user id must be a decimal integer", "invalid_user_id")
		return http.StatusBadRequest
	}
	s := h.pick(user)
	if s == nil || s.model == nil {
		writeError(w, http.StatusServiceUnavailable, "no model loaded", "model_unavailable")
		return http.StatusServiceUnavailable
	}
	key := cacheKey{user: user, json: wantsJSON(r.Header.Get("Accept"))}
	body, hit := s.cache.get(key)
	if hit {
		h.metrics.cacheHits.Inc()
	} else {
		h.metrics.cacheMisses.Inc()
		var err error
		if body, err = encodeAnswer(s.model, user, key.json); err != nil {
			h.logger.Error("encode recommendations", "user", user, "model", s.model.Version(), "arm", s.arm, "err", err)
			writeError(w, http.StatusInternalServerError, "internal error", "internal")
			return http.StatusInternalServerError
		}
		s.cache.put(key, body)
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set(ModelHeader, s.model.Version())
	if models := h.models.Load(); models != nil {
		hdr.Set(ModelsHeader, *models)
	}
	if key.json {
		hdr.Set("Content-Type", "application/json")
	} else {
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // a failed write means the client left
	s.answered.Inc()
	if h.accessLog {
		h.logger.LogAttrs(r.Context(), slog.LevelInfo, "recommendation", slog.String("user", user),
			slog.String("model", s.model.Version()), slog.String("arm", s.arm), slog.Bool("cached", hit))
	}
	return http.StatusOK
}

// ModelHeader names the model version that produced an answer, so the
// gateway's response cache can tell when the model changed.
const ModelHeader = "X-Reelguard-Model"

// popular answers GET /popular: the current model's list for a user it has
// never seen, as JSON. The gateway keeps it as its fallback for when this
// service is down.
func (h *Handler) popular(w http.ResponseWriter, _ *http.Request) {
	s := h.current.Load()
	if s == nil || s.model == nil {
		writeError(w, http.StatusServiceUnavailable, "no model loaded", "model_unavailable")
		return
	}
	body, err := encodeAnswer(s.model, "", true)
	if err != nil {
		h.logger.Error("encode popular list", "model", s.model.Version(), "err", err)
		writeError(w, http.StatusInternalServerError, "internal error", "internal")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// encodeAnswer computes user's recommendations and encodes them as JSON
// (Response, one line) or as the course's comma-separated line.
func encodeAnswer(m *recommender.Model, user string, asJSON bool) ([]byte, error) {
	items := m.Recommend(user, MaxItems, true)
	if asJSON {
		if items == nil {
			items = []recommender.Scored{}
		}
		body, err := json.Marshal(Response{User: user, Items: items, Model: m.Version()})
		if err != nil { // a non-finite score
			return nil, fmt.Errorf("encode json: %w", err)
		}
		return append(body, '\n'), nil
	}
	var b []byte
	for i, s := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s.Item...)
	}
	return append(b, '\n'), nil
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a failed write means the client left
}

func writeError(w http.ResponseWriter, status int, msg, reason string) {
	writeJSON(w, status, ErrorBody{Error: msg, Reason: reason})
}
