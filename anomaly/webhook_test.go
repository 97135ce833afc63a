package anomaly

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// amServer is a fake Alertmanager answering with statuses in turn (the last
// one repeats) and recording the bodies it got.
type amServer struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	paths    []string
	calls    atomic.Int32
}

func newAMServer(tb testing.TB, statuses ...int) *amServer {
	tb.Helper()
	s := &amServer{statuses: statuses}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.calls.Add(1)) - 1
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, body)
		s.paths = append(s.paths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		s.mu.Unlock()
		w.WriteHeader(s.statuses[min(n, len(s.statuses)-1)])
	}))
	tb.Cleanup(s.Close)
	return s
}

func newTestWebhook(tb testing.TB, url string) *WebhookSink {
	tb.Helper()
	w, err := NewWebhookSink(url, nil)
	mustNoErr(tb, err)
	w.Backoff = time.Millisecond
	return w
}

func TestWebhookBodyIsAlertmanagerV2(t *testing.T) {
	srv := newAMServer(t, http.StatusOK)
	w := newTestWebhook(t, srv.URL)
	w.ResolveAfter = time.Hour
	mustNoErr(t, w.Send(context.Background(), goldenAlert()))
	if srv.paths[0] != "POST /api/v2/alerts application/json" {
		t.Errorf("request %q", srv.paths[0])
	}
	var got []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		EndsAt      time.Time         `json:"endsAt"`
	}
	mustNoErr(t, json.Unmarshal(srv.bodies[0], &got))
	if len(got) != 1 {
		t.Fatalf("posted %d alerts, want 1", len(got))
	}
	a := got[0]
	want := map[string]string{"alertname": "ReelguardExtraction", "kind": "extraction",
		"severity": "warning", "action": "degraded", "subject": "frontend", "ip": "203.0.113.7"}
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, a.Labels[k], v)
		}
	}
	var ev map[string]any
	mustNoErr(t, json.Unmarshal([]byte(a.Annotations["evidence"]), &ev))
	if ev["distinct_targets"] != float64(4200) || a.Annotations["id"] != goldenAlert().ID {
		t.Errorf("annotations %v", a.Annotations)
	}
	if !a.StartsAt.Equal(goldenAlert().Time) || !a.EndsAt.Equal(goldenAlert().Time.Add(time.Hour)) {
		t.Errorf("startsAt %v endsAt %v", a.StartsAt, a.EndsAt)
	}
}

func TestWebhookOmitsEmptyLabels(t *testing.T) {
	w := newTestWebhook(t, "http://127.0.0.1:1/custom/path")
	body, err := w.AlertmanagerBody(Alert{Kind: KindLimiter, Severity: SeverityInfo, Action: ActionNone, Time: t0})
	mustNoErr(t, err)
	var got []struct {
		Labels map[string]string `json:"labels"`
	}
	mustNoErr(t, json.Unmarshal(body, &got))
	if _, ok := got[0].Labels["subject"]; ok || got[0].Labels["kind"] != "limiter" {
		t.Errorf("empty subject label sent: %s", body)
	}
	if w.url != "http://127.0.0.1:1/custom/path" {
		t.Errorf("explicit path changed: %s", w.url)
	}
}

func TestWebhookRetries(t *testing.T) {
	cases := []struct {
		name      string
		statuses  []int
		attempts  int
		wantCalls int32
		wantErr   bool
	}{
		{"ok first time", []int{200}, 3, 1, false},
		{"503 then ok", []int{503, 503, 200}, 3, 3, false},
		{"429 then ok", []int{429, 202}, 3, 2, false},
		{"always 500: bounded", []int{500}, 3, 3, true},
		{"400 is final", []int{400, 200}, 3, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAMServer(t, tc.statuses...)
			w := newTestWebhook(t, srv.URL)
			w.Attempts = tc.attempts
			err := w.Send(context.Background(), goldenAlert())
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrWebhook)) {
				t.Errorf("err = %v, want error %v (ErrWebhook)", err, tc.wantErr)
			}
			if got := srv.calls.Load(); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestWebhookTimeoutPerAttempt(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client leaving
		select {                           // hang until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	w := newTestWebhook(t, srv.URL)
	w.Timeout, w.Attempts = 20*time.Millisecond, 2
	if err := w.Send(context.Background(), goldenAlert()); !errors.Is(err, ErrWebhook) {
		t.Fatalf("err = %v, want ErrWebhook", err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d attempts, want 2", calls.Load())
	}
}

func TestWebhookRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/", "/api/v2/alerts", "http://", "::"} {
		if _, err := NewWebhookSink(u, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewWebhookSink(%q) err = %v", u, err)
		}
	}
}

func TestWebhookAsHubSink(t *testing.T) {
	srv := newAMServer(t, http.StatusOK)
	h, _ := newTestHub(t, HubConfig{})
	mustNoErr(t, h.AddSink("alertmanager", newTestWebhook(t, srv.URL+"/")))
	_, _, err := h.Raise(testAlert(KindDoS, "x"))
	mustNoErr(t, err)
	mustNoErr(t, h.Close(context.Background()))
	if srv.calls.Load() != 1 || h.Stats().SinkErrors != 0 {
		t.Errorf("webhook calls %d, sink errors %d", srv.calls.Load(), h.Stats().SinkErrors)
	}
}
