package main

import (
	"encoding/json"

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
