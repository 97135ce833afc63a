package serve

import (
	"encoding/json"
	"net/http"
	"strings"

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
	user := r.PathValue("userid")
	if !recommender.IsUserID(user) {
		writeError(w, http.StatusBadRequest, "user id must be a decimal integer", "invalid_user_id")
		return
	}
	m := h.model.Load()
	if m == nil {
		writeError(w, http.StatusServiceUnavailable, "no model loaded", "model_unavailable")
		return
	}
	items := m.Recommend(user, MaxItems, true)
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r.Header.Get("Accept")) {
		if items == nil {
			items = []recommender.Scored{}
		}
		writeJSON(w, http.StatusOK, Response{User: user, Items: items, Model: m.Version()})
		return
	}
	ids := make([]string, len(items))
	for i, s := range items {
		ids[i] = s.Item
	}
	writeText(w, http.StatusOK, strings.Join(ids, ",")+"\n")
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
