// Package anomaly holds Reelguard's security signals: the Alert every part
// raises (one JSON shape for the admin API, server-sent events, the
// security-alerts topic and Alertmanager), the Hub that keeps, deduplicates
// and fans alerts out, the block list with escalating TTLs, and detectors for
// model extraction, floods, Kafka signature failures and rating poisoning,
// with the per-principal counts the security dashboard ranks (Traffic,
// Extraction.Top).
//
// Detectors are pure logic: the gateway feeds them events stamped with their
// time and applies the Decision they return (throttle, degrade, block, raise
// an alert). They do no I/O and read no clock, so tests drive them with a
// fake one. The package imports nothing of this project.
package anomaly
