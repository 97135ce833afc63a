package main

import "runtime/debug"

// gatewayGCPercent is the GC target when GOGC is not set. The gateway's
// live heap is small (tens of MB) and its garbage is per request, so
// collecting at 4× the live heap instead of 2× trades a little memory for
// about a seventh of the CPU per request under load (BENCHMARKS.md).
const gatewayGCPercent = 400

// tuneGC applies gatewayGCPercent unless the operator set GOGC.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gatewayGCPercent)
	}
}
