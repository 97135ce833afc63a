package anomaly

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// Per-request costs on the gateway's path. Run:
//
//	go test -run '^$' -bench . -benchmem ./anomaly/

func BenchmarkObserveRequestService(b *testing.B) {
	e := newTestExtraction(b, ExtractionConfig{})
	targets := make([]string, 1000)
	for i := range targets {
		targets[i] = fmt.Sprint(i + 1)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Observe(RecRequest{Time: t0.Add(time.Duration(i) * 25 * time.Millisecond), Principal: "frontend",
			Role: RoleService, IP: testIP, Target: targets[(i*7919)%len(targets)]})
		i++
	}
}

func BenchmarkObserveRequestOwn(b *testing.B) {
	e := newTestExtraction(b, ExtractionConfig{})
	b.ReportAllocs()
	for b.Loop() {
		e.Observe(RecRequest{Time: t0, Principal: "42", Role: RoleUser, IP: testIP, Target: "42"})
	}
}

func BenchmarkObserveRequestParallel(b *testing.B) {
	e := newTestExtraction(b, ExtractionConfig{})
	principals := make([]string, 64)
	for i := range principals {
		principals[i] = fmt.Sprint("svc", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			e.Observe(RecRequest{Time: t0.Add(time.Duration(i) * time.Millisecond), Principal: principals[i%64],
				Role: RoleService, IP: testIP, Target: principals[(i*31)%64]})
			i++
		}
	})
}

func BenchmarkObserveHit(b *testing.B) {
	d := newTestDoS(b, DoSConfig{})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Observe(Hit{Time: t0.Add(time.Duration(i) * 50 * time.Millisecond), IP: testIP, Status: 200})
		i++
	}
}

func BenchmarkSuspicion(b *testing.B) {
	m, _ := newTestMonitor(b, Config{})
	m.ObserveRequest(rec(t0, "frontend", RoleService, "1"))
	b.ReportAllocs()
	for b.Loop() {
		m.Suspicion("frontend", testIP)
	}
}

func BenchmarkBlockedMiss(b *testing.B) {
	bl, _ := newTestBlocks(b, BlocksConfig{})
	for i := range 1000 {
		_, _ = bl.Block(BlockIP, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}).String(), 0, "")
	}
	b.ReportAllocs()
	for b.Loop() {
		bl.Blocked(BlockIP, "192.0.2.1")
		bl.Blocked(BlockSubject, "frontend")
	}
}

func BenchmarkRaise(b *testing.B) {
	h, _ := newTestHub(b, HubConfig{DedupeWindow: -1})
	a := testAlert(KindDoS, "x")
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = h.Raise(a)
	}
}
