package anomaly

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// alertmanagerPath is where Alertmanager's v2 API takes alerts.
const alertmanagerPath = "/api/v2/alerts"

// WebhookSink posts alerts to an Alertmanager (or anything that speaks its
// v2 API) as a one-element JSON array of postable alerts:
//
//	[{"labels":{"alertname":"ReelguardExtraction","kind":"extraction",
//	  "severity":"warning","action":"degraded","subject":"svc-1","ip":"10.0.0.7"},
//	  "annotations":{"summary":"...","id":"01J...","evidence":"{...}"},
//	  "startsAt":"2025-01-01T00:00:00Z","generatorURL":"..."}]
//
// Labels with an empty value are left out (Alertmanager treats them as
// absent anyway). Each attempt has a timeout; network errors, 429 and 5xx
// are retried a bounded number of times with doubling backoff; other
// statuses are final.
type WebhookSink struct {
	// Timeout bounds one attempt. Default 5s.
	Timeout time.Duration
	// Attempts bounds the tries per alert, the first included. Default 3.
	Attempts int
	// Backoff is the wait before the second attempt, doubling after. Default 250ms.
	Backoff time.Duration
	// ResolveAfter, when positive, sets endsAt to startsAt plus it, so the
	// alert resolves by itself. Default 0: Alertmanager's resolve_timeout.
	ResolveAfter time.Duration
	// GeneratorURL is sent as generatorURL when set (the dashboard's address).
	GeneratorURL string

	url    string
	client *http.Client
}

var _ Sink = (*WebhookSink)(nil)

// NewWebhookSink returns a sink posting to rawURL: an Alertmanager base
// address (http://am:9093, to which /api/v2/alerts is added) or a full
// endpoint path. A nil client means http.DefaultClient.
func NewWebhookSink(rawURL string, client *http.Client) (*WebhookSink, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: webhook url must be an absolute http(s) url", ErrInvalidConfig)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = alertmanagerPath
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &WebhookSink{Timeout: 5 * time.Second, Attempts: 3,
		Backoff: 250 * time.Millisecond, url: u.String(), client: client}, nil
}

// postableAlert is Alertmanager v2's alert as posted.
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// AlertmanagerBody encodes a as the body of POST /api/v2/alerts.
func (w *WebhookSink) AlertmanagerBody(a Alert) ([]byte, error) {
	evidence, err := json.Marshal(a.clone().Evidence)
	if err != nil {
		return nil, fmt.Errorf("encode evidence: %w", err)
	}
	labels := map[string]string{"alertname": alertName(a.Kind)}
	for k, v := range map[string]string{"kind": string(a.Kind), "severity": string(a.Severity),
		"action": string(a.Action), "subject": a.Subject, "ip": a.IP} {
		if v != "" {
			labels[k] = v
		}
	}
	p := postableAlert{
		Labels: labels,
		Annotations: map[string]string{"id": a.ID, "evidence": string(evidence),
			"summary": summary(a)},
		StartsAt:     a.Time.UTC(),
		GeneratorURL: w.GeneratorURL,
	}
	if w.ResolveAfter > 0 {
		end := p.StartsAt.Add(w.ResolveAfter)
		p.EndsAt = &end
	}
	return json.Marshal([]postableAlert{p})
}

// alertName is the Alertmanager alertname: "Reelguard" and the kind in
// title case (ReelguardDos, ReelguardExtraction).
func alertName(k Kind) string {
	s := string(k)
	if s == "" {
		return "Reelguard"
	}
	return "Reelguard" + strings.ToUpper(s[:1]) + s[1:]
}

func summary(a Alert) string {
	s := fmt.Sprintf("%s %s", a.Severity, a.Kind)
	if a.Subject != "" {
		s += " by " + a.Subject
	}
	if a.IP != "" {
		s += " from " + a.IP
	}
	return s + ", action " + string(a.Action)
}

// Send posts a, retrying as the type's comment says.
func (w *WebhookSink) Send(ctx context.Context, a Alert) error {
	body, err := w.AlertmanagerBody(a)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWebhook, err)
	}
	backoff := w.Backoff
	var last error
	for attempt := range max(w.Attempts, 1) {
		if attempt > 0 {
			if err := sleepCtx(ctx, backoff); err != nil {
				return fmt.Errorf("%w: %w (last: %w)", ErrWebhook, err, last)
			}
			backoff *= 2
		}
		retry, err := w.post(ctx, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return fmt.Errorf("%w: %w", ErrWebhook, last)
}

// post makes one attempt; it reports whether a failure is worth retrying.
func (w *WebhookSink) post(ctx context.Context, body []byte) (bool, error) {
	if w.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return ctx.Err() == nil || ctx.Err() == context.DeadlineExceeded, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("status %d", resp.StatusCode)
	}
	return false, fmt.Errorf("status %d", resp.StatusCode)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
