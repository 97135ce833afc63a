package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"

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
