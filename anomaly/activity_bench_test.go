package anomaly

import (
	"fmt"
	"testing"
	"time"
)

// The worst case of the request path's new-target signals: every request
// is for a user the principal has not asked for (a scraper), each judged
// against a ready activity set. Run:
//
//	go test -run '^$' -bench ObserveRequest -benchmem ./anomaly/
func BenchmarkObserveRequestNewTargetsWithActivity(b *testing.B) {
	e := newTestExtraction(b, ExtractionConfig{HardMaxDistinct: 1 << 30, SetCap: 1 << 30,
		ServiceMinDistinct: 1 << 30, NewTargetsPerSecond: -1, InactiveShare: 2, RankTau: 2, CoverageMax: -1})
	e.UseActivity(readyActivity(b, 10000))
	targets := make([]string, 1<<16)
	for i := range targets {
		targets[i] = fmt.Sprint((i * 7919) % 1_000_000)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Observe(RecRequest{Time: t0.Add(time.Duration(i) * time.Millisecond), Principal: "scraper",
			Role: RoleService, IP: testIP, Target: targets[i%len(targets)]})
		i++
	}
}

func BenchmarkActivityActive(b *testing.B) {
	a := readyActivity(b, 100000)
	users := make([]string, 1024)
	for i := range users {
		users[i] = fmt.Sprint(i * 97)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a.Active(users[i%len(users)], t0)
		i++
	}
}
