package gateway

import (
	"encoding/json"
	"net/http"
)

// jsonHandler answers GET with the JSON of what get returns at that moment.
func jsonHandler(get func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(get())
	})
}
