package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reelguard/reelguard/gateway/ratelimit"
)

// testRedisURL is REELGUARD_TEST_REDIS_URL (make test sets it), or a
// redis-server of the test's own on a free loopback port.
func testRedisURL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv("REELGUARD_TEST_REDIS_URL"); u != "" {
		return u
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tb.TempDir())
	if err := cmd.Start(); err != nil {
		tb.Fatalf("redis-server (run `make test` to install it, or set REELGUARD_TEST_REDIS_URL): %v", err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "redis://127.0.0.1:" + port + "/0"
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, MaxRetries: -1})
	defer c.Close()
	for range 100 {
		if conn, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			conn.Close()
			if c.Ping(context.Background()).Err() == nil {
				return url
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatal("redis-server did not answer")
	return ""
}

// newSharedGuards returns n guards sharing one Redis under a fresh prefix,
// as n replicas would.
func newSharedGuards(tb testing.TB, url string, n int) []Guard {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "test" + hex.EncodeToString(b)
	out := make([]Guard, n)
	for i := range out {
		// Timeouts a loaded test machine meets: the request path's 50 ms would
		// send the guard to its in-process fallback now and then.
		client, err := ratelimit.NewRedisClient(patient(url))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { client.Close() })
		rl := ratelimit.NewRedis(client, prefix)
		out[i] = NewRedisGuard(rl, ratelimit.NewFallback(rl, ratelimit.NewMemory(rl.DenyList()), 1, nil))
	}
	return out
}

// patient gives a Redis URL timeouts that a loaded test machine meets.
func patient(u string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "dial_timeout=2s&read_timeout=2s&write_timeout=2s&pool_timeout=2s"
}
