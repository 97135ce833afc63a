package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
)

// securityAlertsTopic is where the recommender's signature alerts go; the
// gateway takes them into its dashboard and alert sinks.
const securityAlertsTopic = "security-alerts"

// signatureAlerts turns records the movielog consumer rejected into
// rate-limited signature alerts on security-alerts.
type signatureAlerts struct {
	monitor  *anomaly.Monitor
	hub      *anomaly.Hub
	producer *events.Producer
	log      *slog.Logger
}

func newSignatureAlerts(brokers []string, keys string, log *slog.Logger) (*signatureAlerts, error) {
	monitor, err := anomaly.NewMonitor(anomaly.DefaultConfig())
	if err != nil {
		return nil, err
	}
	signer, err := events.LoadSigner(keys)
	if err != nil {
		return nil, fmt.Errorf("signature alerts: %w", err)
	}
	p, err := events.NewProducer(events.ProducerConfig{Brokers: brokers, Signer: signer, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("signature alerts: %w", err)
	}
	hub := anomaly.NewHub(anomaly.HubConfig{Logger: log})
	err = hub.AddSink("kafka", anomaly.SinkFunc(func(_ context.Context, a anomaly.Alert) error {
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if !p.Send(securityAlertsTopic, []byte(a.Kind), b) {
			return errors.New("security-alerts: producer queue full")
		}
		return nil
	}))
	if err != nil {
		return nil, err
	}
	return &signatureAlerts{monitor: monitor, hub: hub, producer: p, log: log}, nil
}

// rejected reports one rejected record; the detector decides whether it is
// news (the first from a producer, or an escalation) or only counted.
func (s *signatureAlerts) rejected(r *kgo.Record, reason string) {
	rej := anomaly.Rejection{Time: time.Now(), Topic: r.Topic, Reason: reason}
	for _, h := range r.Headers {
		switch h.Key {
		case events.HeaderPID:
			rej.PID = string(h.Value)
		case events.HeaderKeyID:
			rej.KID = string(h.Value)
		}
	}
	s.log.Warn("movielog record rejected", "reason", reason, "partition", r.Partition, "offset", r.Offset)
	if _, err := anomaly.Apply(s.monitor.ObserveRejection(rej), s.hub, nil); err != nil {
		s.log.Error("signature alert not raised", "err", err)
	}
}

// run keeps the alert path until ctx ends, then flushes it.
// modelRefused raises a model alert for a candidate the promotion gate's
// fairness checks refused; the current model stays.
func (s *signatureAlerts) modelRefused(d recommender.FeedbackDecision) {
	a := anomaly.Alert{Time: d.Time, Kind: anomaly.KindModel, Severity: anomaly.SeverityWarning, Subject: d.Candidate,
		Action: anomaly.ActionNone, Evidence: map[string]any{"current": d.Current,
			"refused": strings.Join(d.Refused, ","), "reason": d.Reason}}
	if _, _, err := s.hub.Raise(a); err != nil {
		s.log.Error("model alert not raised", "err", err)
	}
}

func (s *signatureAlerts) run(ctx context.Context) error {
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.hub.Close(closeCtx)
	return s.producer.Close()
}
