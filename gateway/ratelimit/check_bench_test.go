package ratelimit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchRequest is a typical principal request: IP, jti and two counters.
func benchRequest(sub string) Request {
	return Request{Subject: sub, IP: "192.0.2.1", JTI: "jti-" + sub, Rate: Rate{PerSecond: 1e9, Burst: 1e9},
		Counters: []Counter{{Name: "reqs", Window: time.Minute}, {Name: "users", Window: time.Minute, Member: "u42"}}}
}

// BenchmarkCheckRedis is one round trip per op to the test Redis, spread
// over 1000 subjects.
func BenchmarkCheckRedis(b *testing.B) {
	c, err := NewRedisClient(redisURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	prefix := uniquePrefix(b)
	b.Cleanup(func() { dropKeys(b, newRedisClient(b), prefix) })
	l := NewRedis(c, prefix)
	reqs := make([]Request, 1000)
	for i := range reqs {
		reqs[i] = benchRequest(strconv.Itoa(i))
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Check(context.Background(), reqs[n.Add(1)%int64(len(reqs))]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheckOverLimitCached is a flooding principal answered in process.
func BenchmarkCheckOverLimitCached(b *testing.B) {
	l, _ := newTestRedis(b)
	req := Request{Subject: "flood", Rate: Rate{PerSecond: 1e-3, Burst: 1}}
	mustCheck(b, l, req)
	if v := mustCheck(b, l, req); v.Allowed() {
		b.Fatal("second request allowed")
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if v, err := l.Check(context.Background(), req); err != nil || v.Allowed() {
				b.Fatal(v, err)
			}
		}
	})
}

// BenchmarkCheckFallbackDegraded is the local answer while Redis is down.
func BenchmarkCheckFallbackDegraded(b *testing.B) {
	primary := NewRedis(deadRedisClient(b), "rg")
	f := NewFallbackWith(primary, NewMemory(primary.DenyList()), FallbackOptions{Replicas: 3, Failures: 1})
	mustCheck(b, f, benchRequest("x"))
	if !f.Degraded() {
		b.Fatal("not degraded")
	}
	reqs := make([]Request, 1000)
	for i := range reqs {
		reqs[i] = benchRequest(strconv.Itoa(i))
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.Check(context.Background(), reqs[n.Add(1)%int64(len(reqs))]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
