package anomaly

import "errors"

// Sentinel errors, returned wrapped; branch on them with errors.Is.
var (
	// ErrInvalidAlert: an alert's kind, severity or action is not one of
	// DESIGN.md's values, or a required field is missing.
	ErrInvalidAlert = errors.New("invalid alert")
	// ErrInvalidBlock: a block's kind is not "ip" or "subject", or its key is
	// empty, too long or (for "ip") not an address or prefix.
	ErrInvalidBlock = errors.New("invalid block")
	// ErrInvalidConfig: a configuration value is out of range.
	ErrInvalidConfig = errors.New("invalid anomaly config")
	// ErrClosed: the hub no longer delivers to sinks.
	ErrClosed = errors.New("alert hub closed")
	// ErrWebhook: the Alertmanager webhook refused the alert or stayed
	// unreachable after the bounded retries.
	ErrWebhook = errors.New("alert webhook failed")
)
