package auth

import "log/slog"

// Secret is key material that must never reach a log or an error message:
// it formats and logs as "[redacted]".
type Secret []byte

var _ slog.LogValuer = Secret(nil)

// LogValue redacts the secret.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String and GoString keep the secret out of fmt output.
func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return "[redacted]" }

// MarshalText keeps the secret out of encoders (JSON, YAML) too.
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }
