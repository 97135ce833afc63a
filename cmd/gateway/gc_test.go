package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gatewayGCPercent {
		t.Errorf("without GOGC the GC percent is %d, want %d", got, gatewayGCPercent)
	}
	tuneGC(func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, tuneGC changed the GC percent to %d", got)
	}
}
