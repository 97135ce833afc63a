package anomaly

import (
	"fmt"
	"time"
)

// Decision is a detector's answer to one event, for the gateway to apply.
type Decision struct {
	// Action is what to do with this request and the principal's next ones
	// while the flag lasts: none; throttled (answer 429); degraded (set the
	// policy's suspicion so the answer has fewer items and no scores);
	// blocked (refuse; Block says what to add to the block list).
	Action Action
	// Alert, when not nil, is news to raise: a first detection or an
	// escalation. Repeated requests of a flagged principal carry no alert.
	Alert *Alert
	// Block, when not nil, asks for a block-list entry (Apply does it).
	Block *BlockOrder
}

// BlockOrder asks for a block; the block list escalates its TTL for repeat
// offenders.
type BlockOrder struct {
	Kind   BlockKind
	Key    string
	Reason string
	TTL    time.Duration // base TTL; 0 means the block list's BaseTTL
}

// Verdict is the poisoning detector's answer for one rating event.
type Verdict struct {
	// Suspicious ratings should be left out of training; Reason says why
	// (rating_burst, extreme_only, coordinated).
	Suspicious bool
	Reason     string
	// Alert, when not nil, is news to raise (at most one per user or movie
	// per window).
	Alert *Alert
}

// Apply carries out d: it adds the block (when asked; blocks may be nil),
// records the block's end and offence count in the alert's evidence, and
// raises the alert on hub (when there is one; hub may be nil). It returns
// the alert as raised.
func Apply(d Decision, hub *Hub, blocks *Blocks) (Alert, error) {
	var a Alert
	if d.Alert != nil {
		a = d.Alert.clone()
	}
	if d.Block != nil && blocks != nil {
		b, err := blocks.Block(d.Block.Kind, d.Block.Key, d.Block.TTL, d.Block.Reason)
		if err != nil {
			return Alert{}, fmt.Errorf("apply decision: %w", err)
		}
		if d.Alert != nil {
			a.Evidence["blocked_until"] = b.Until.UTC()
			a.Evidence["offences"] = b.Offences
		}
	}
	if d.Alert == nil || hub == nil {
		return a, nil
	}
	raised, _, err := hub.Raise(a)
	if err != nil {
		return Alert{}, fmt.Errorf("apply decision: %w", err)
	}
	return raised, nil
}
