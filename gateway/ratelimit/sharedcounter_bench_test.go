package ratelimit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCheckRedisTargets is the check of a service reading for ever new
// users: one subject, a distinct member per op, so both half-window
// HyperLogLogs turn dense and every op merges them (PFCOUNT of two keys).
// Compare BenchmarkCheckRedisNoCounters, the same check without counters.
func BenchmarkCheckRedisTargets(b *testing.B) {
	benchTargets(b, true)
}

// BenchmarkCheckRedisNoCounters is BenchmarkCheckRedisTargets' request
// without its counter.
func BenchmarkCheckRedisNoCounters(b *testing.B) {
	benchTargets(b, false)
}

func benchTargets(b *testing.B, counted bool) {
	l, _ := newTestRedis(b)
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := Request{Subject: "svc", JTI: "j", Rate: Rate{PerSecond: 1e9, Burst: 1e9}}
			if counted {
				req.Counters = []Counter{{Name: "targets", Window: time.Minute, Member: strconv.FormatInt(n.Add(1), 10)}}
			}
			if _, err := l.Check(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
