package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/reelguard/reelguard/gateway/ratelimit"
)

func ExampleLocal() {
	l := ratelimit.NewLocal()
	perMinute := ratelimit.Rate{PerSecond: 1.0 / 60, Burst: 2}
	for range 3 {
		res, err := l.Allow(context.Background(), "user:42", perMinute)
		if err != nil {
			fmt.Println(err)
			return
		}
		h := http.Header{}
		res.SetHeaders(h)
		fmt.Printf("allowed=%v remaining=%s retry-after=%q\n", res.Allowed, h.Get("RateLimit-Remaining"), h.Get("Retry-After"))
	}
	// Output:
	// allowed=true remaining=1 retry-after=""
	// allowed=true remaining=0 retry-after=""
	// allowed=false remaining=0 retry-after="60"
}

func ExampleMemory_Check() {
	m := ratelimit.NewMemory(nil)
	m.DenyList().Block(ratelimit.KindIP, "198.51.100.7", time.Time{})
	req := ratelimit.Request{
		Subject:  "svc-frontend",
		IP:       "192.0.2.1",
		JTI:      "token-1",
		Rate:     ratelimit.Rate{PerSecond: 500, Burst: 1000},
		Counters: []ratelimit.Counter{{Name: "targets", Window: time.Minute, Member: "user:42"}},
	}
	v, _ := m.Check(context.Background(), req)
	fmt.Println(v.Allowed(), v.Limit.Remaining, v.Counters)
	req.IP = "198.51.100.7"
	v, _ = m.Check(context.Background(), req)
	fmt.Println(v.Allowed(), v.Blocked)
	// Output:
	// true 999 [1]
	// false ip
}
