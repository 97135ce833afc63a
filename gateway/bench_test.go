package gateway_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/reelguard/reelguard/gateway"
	"github.com/reelguard/reelguard/gateway/ratelimit"
)

// BenchmarkRequestPath sends authenticated requests through the whole chain
// (TLS, per-IP limit, JWT, policy, GCRA, proxy, request log) to an in-process
// upstream, with limits high enough never to refuse. Client and servers share
// the process, so this is a cost per request, not a throughput figure.
func BenchmarkRequestPath(b *testing.B) {
	unlimited := ratelimit.Rate{PerSecond: 1e9, Burst: 1e9}
	s := newStack(b, gateway.Config{PreAuth: unlimited, Tiers: map[string]ratelimit.Rate{"service": unlimited}}, nil)
	tok := s.token(b, "svc", "service")
	req, _ := http.NewRequest(http.MethodGet, s.url+"/recommend/42", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := s.client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
