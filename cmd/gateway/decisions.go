package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/policy"
)

// decisionLogFile is the decision log's name in an instance's state folder.
const decisionLogFile = "decisions.log"

// decisionsTopic receives the decision log when decisions_to_kafka is set.
const decisionsTopic = "decisions"

// kafkaDecisions sends decision records, already redacted, to Kafka.
type kafkaDecisions struct{ p *events.Producer }

func (k kafkaDecisions) Log(r policy.DecisionRecord) {
	b, err := json.Marshal(r)
	if err != nil {
		return // a record of plain values always encodes
	}
	k.p.Send(decisionsTopic, []byte(r.DecisionID), b)
}

// importedKinds are the alert kinds other services raise (the recommender's
// verifying consumer) that the gateway takes from security-alerts into its
// hub, for the dashboard and the sinks. The gateway raises none of them
// itself, so its own alerts coming back on the topic are not taken twice.
var importedKinds = map[anomaly.Kind]bool{anomaly.KindSignature: true, anomaly.KindPoisoning: true}

// alertImporter consumes security-alerts, verified like every record.
func (s *stack) alertImporter() (*events.Consumer, error) {
	keyset, err := events.LoadKeyset(filepath.Join(s.cfg.Data, "keys", events.KeysetFile))
	if err != nil {
		return nil, fmt.Errorf("alert importer: %w", err)
	}
	return events.NewConsumer(events.ConsumerConfig{
		Brokers: s.cfg.KafkaBrokers, Group: "gateway-alerts-" + s.cfg.Instance, Topics: []string{securityAlertsTopic},
		Verifier: events.NewVerifier(keyset, 0),
		Handler: func(_ context.Context, r *kgo.Record) error {
			a, err := anomaly.ParseAlert(r.Value)
			if err != nil || !importedKinds[a.Kind] {
				return nil // not ours to take; never retried
			}
			if _, _, err := s.alerts.Raise(a); err != nil {
				s.log.Warn("imported alert refused", "err", err)
			}
			return nil
		},
		OnReject: func(_ *kgo.Record, reason string, _ error) {
			s.log.Warn("security-alerts record rejected", "reason", reason)
		},
		StateFile: filepath.Join(s.cfg.stateDir(), "alerts-replay.json"),
		Logger:    s.log,
	})
}
