package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriteDegraded(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
		want                    string
		marked                  bool
	}{
		{"text", "text/plain; charset=utf-8", "a,b,c,d\n", 200, "a,b\n", true},
		{"short text", "text/plain", "a\n", 200, "a\n", true},
		{"empty text", "text/plain", "\n", 200, "\n", true},
		{"json", "application/json", `{"user":"1","items":[{"id":"a","score":0.9},{"id":"b","score":0.5},{"id":"c","score":0.1}],"model":"v1","fallback":true}`,
			200, `{"user":"1","items":[{"id":"a"},{"id":"b"}],"model":"v1","fallback":true,"degraded":true}` + "\n", true},
		{"broken json passes", "application/json", `{"items":`, 200, `{"items":`, false},
		{"unknown type passes", "application/octet-stream", "a,b,c", 200, "a,b,c", false},
		{"errors pass", "application/json", `{"error":"x","reason":"y"}`, 503, `{"error":"x","reason":"y"}`, false},
	}
	if w := degradeHuge(); w.Code != 502 || !strings.Contains(w.Body.String(), "upstream_invalid") {
		t.Errorf("an answer over the limit: %d %s, want 502 upstream_invalid", w.Code, w.Body.String())
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held := newHeldAnswer()
			held.Header().Set("Content-Type", tt.contentType)
			held.Header().Set("Content-Length", "999")
			held.WriteHeader(tt.status)
			_, _ = held.Write([]byte(tt.body))
			w := httptest.NewRecorder()
			writeDegraded(w, held, 2)
			if w.Code != tt.status || w.Body.String() != tt.want {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), tt.status, tt.want)
			}
			if got := w.Header().Get("X-Reelguard-Degraded") == "true"; got != tt.marked {
				t.Errorf("marked degraded: %v, want %v", got, tt.marked)
			}
			if w.Header().Get("Content-Length") != "" {
				t.Error("the held Content-Length was passed on")
			}
		})
	}
}

// degradeHuge degrades an answer longer than the gateway holds.
func degradeHuge() *httptest.ResponseRecorder {
	held := newHeldAnswer()
	held.Header().Set("Content-Type", "text/plain")
	_, _ = held.Write([]byte(strings.Repeat("a,", maxAnswerBytes)))
	w := httptest.NewRecorder()
	writeDegraded(w, held, 2)
	return w
}
