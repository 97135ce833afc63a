package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// degradeKey marks a request whose policy decision carried the degrade
// obligation: the principal is suspected of extraction, so its answers
// shrink to fewer items without scores (DESIGN.md's response ladder).
const degradeKey ctxKey = 101

// maxAnswerBytes bounds a recommendation answer the gateway rewrites.
const maxAnswerBytes = 64 << 10

func withDegrade(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), degradeKey, true))
}

func degraded(ctx context.Context) bool {
	d, _ := ctx.Value(degradeKey).(bool)
	return d
}

// heldWriter keeps a response's headers and lets a recorder around it hold
// the body, so the answer can be rewritten before the client sees it.
type heldWriter struct{ h http.Header }

func (w *heldWriter) Header() http.Header         { return w.h }
func (w *heldWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *heldWriter) WriteHeader(int)             {}

// newHeldAnswer is a recorder that keeps a whole answer and sends nothing.
func newHeldAnswer() *recorder {
	return newRecorder(&heldWriter{h: http.Header{}}, maxAnswerBytes)
}

// writeDegraded sends the held answer to w cut to its first n items, with
// no scores and marked degraded. Anything but a complete 200 answer in a
// format it knows passes through unchanged (errors stay errors).
func writeDegraded(w http.ResponseWriter, held *recorder, n int) {
	if len(held.body) >= maxAnswerBytes { // cut short: never pass on half an answer
		writeError(w, http.StatusBadGateway, "upstream_invalid", "recommendation service answer too large")
		return
	}
	h := w.Header()
	for k, v := range held.Header() {
		if k != "Content-Length" {
			h[k] = v
		}
	}
	status := held.status
	if status == 0 {
		status = http.StatusOK
	}
	body := held.body
	if status == http.StatusOK {
		if cut, ok := degradeBody(body, h.Get("Content-Type"), n); ok {
			body = cut
			h.Set("X-Reelguard-Degraded", "true")
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// degradeBody rewrites one answer: the text form's comma-separated ids, or
// the JSON form's items.
func degradeBody(body []byte, contentType string, n int) ([]byte, bool) {
	if strings.HasPrefix(contentType, "application/json") {
		return degradeJSON(body, n)
	}
	if !strings.HasPrefix(contentType, "text/plain") {
		return nil, false
	}
	line := strings.TrimSuffix(string(body), "\n")
	if line == "" {
		return body, true
	}
	ids := strings.Split(line, ",")
	return []byte(strings.Join(ids[:min(n, len(ids))], ",") + "\n"), true
}

type degradedAnswer struct {
	User     string         `json:"user"`
	Items    []degradedItem `json:"items"`
	Model    string         `json:"model"`
	Fallback bool           `json:"fallback"`
	Degraded bool           `json:"degraded"`
}

// degradedItem keeps only the id: scores tell an extractor how the model
// ranks, which is what it is after.
type degradedItem struct {
	ID string `json:"id"`
}

func degradeJSON(body []byte, n int) ([]byte, bool) {
	var a degradedAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, false
	}
	a.Items = a.Items[:min(n, len(a.Items))]
	a.Degraded = true
	out, err := json.Marshal(a)
	if err != nil {
		return nil, false
	}
	return append(out, '\n'), true
}
