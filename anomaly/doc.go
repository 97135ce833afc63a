// Package anomaly will hold Reelguard's detectors (model extraction, floods,
// Kafka signature failures, rating poisoning), the Alert type, the block list
// with TTLs and the alert sinks. It imports nothing of this project. The
// detectors arrive with the anomaly-detection issue; until then the folder
// holds its place in DESIGN.md's layout so the import-arrow test covers it.
package anomaly
