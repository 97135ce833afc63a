package gateway

import (
	"encoding/json"
	"net/http"
)

// apiError is the body of every error the gateway answers with. Reason is a
// stable id that clients and dashboards may branch on; Error is for people.
type apiError struct {
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

// writeError answers with a JSON error. It never includes internal detail:
// the caller logs the cause.
func writeError(w http.ResponseWriter, status int, reason, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{Error: msg, Reason: reason})
}
