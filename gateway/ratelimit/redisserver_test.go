package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedisEnv names a running Redis the tests may use (make test sets it).
const testRedisEnv = "REELGUARD_TEST_REDIS_URL"

// testRedis is the redis-server this test binary started when testRedisEnv
// was unset; TestMain stops it.
var testRedis struct {
	once sync.Once
	url  string
	err  error
	cmd  *exec.Cmd
	dir  string
}

// quietRedisLog drops go-redis's own log lines (dial failures the fault
// tests cause on purpose); the tests assert on errors instead.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedisLog{})
	code := m.Run()
	stopTestRedis()
	os.Exit(code)
}

// redisURL returns a reachable Redis: testRedisEnv, or a redis-server started
// for this package on a free loopback port. It never skips.
func redisURL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv(testRedisEnv); u != "" {
		return u
	}
	testRedis.once.Do(startTestRedis)
	if testRedis.err != nil {
		tb.Fatal(testRedis.err)
	}
	return testRedis.url
}

func startTestRedis() {
	port, err := freePort()
	if err != nil {
		testRedis.err = err
		return
	}
	if testRedis.dir, err = os.MkdirTemp("", "ratelimit-redis-"); err != nil {
		testRedis.err = err
		return
	}
	testRedis.cmd, testRedis.err = spawnRedis(port, testRedis.dir)
	testRedis.url = "redis://127.0.0.1:" + port + "/0"
	if testRedis.err == nil {
		testRedis.err = waitForRedis(testRedis.url)
	}
}

// spawnRedis starts a redis-server without persistence on a loopback port.
func spawnRedis(port, dir string) (*exec.Cmd, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found: run `make test` (it installs and starts Redis) or set %s", testRedisEnv)
	}
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir)
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	return cmd, nil
}

// ownRedis is a redis-server of one test's own, which the test may stop,
// restart or pause without disturbing others sharing testRedisEnv's server.
type ownRedis struct {
	tb   testing.TB
	port string
	dir  string
	cmd  *exec.Cmd
	URL  string
}

func startOwnRedis(tb testing.TB) *ownRedis {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	r := &ownRedis{tb: tb, port: port, dir: tb.TempDir(), URL: "redis://127.0.0.1:" + port + "/0"}
	r.Start()
	tb.Cleanup(r.Stop)
	return r
}

// Start (re)starts the server on its port and waits until it answers.
func (r *ownRedis) Start() {
	r.tb.Helper()
	cmd, err := spawnRedis(r.port, r.dir)
	if err != nil {
		r.tb.Fatal(err)
	}
	r.cmd = cmd
	if err := waitForRedis(r.URL); err != nil {
		r.tb.Fatal(err)
	}
}

// Stop kills the server, as a crash would.
func (r *ownRedis) Stop() {
	if r.cmd != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// waitForRedis waits for the server to answer PING; the deadline is for a
// server that never starts, not a timing assertion.
func waitForRedis(url string) error {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	c := redis.NewClient(opts)
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer: %w", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stopTestRedis() {
	if testRedis.cmd != nil {
		_ = testRedis.cmd.Process.Kill()
		_ = testRedis.cmd.Wait()
	}
	if testRedis.dir != "" {
		_ = os.RemoveAll(testRedis.dir)
	}
}

// newRedisClient returns a fresh client (its own connection pool, like a
// separate gateway replica), closed when the test ends.
func newRedisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	opts, err := redis.ParseURL(redisURL(tb))
	if err != nil {
		tb.Fatalf("parse %s: %v", testRedisEnv, err)
	}
	c := redis.NewClient(opts)
	tb.Cleanup(func() { c.Close() })
	return c
}

// uniquePrefix keeps tests sharing one Redis (and reruns) apart.
func uniquePrefix(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name())
	return "rgtest:" + name + ":" + hex.EncodeToString(b)
}

// newTestRedis returns a limiter under a fresh prefix and its client; the
// prefix's keys are deleted when the test ends, so a shared Redis stays clean.
func newTestRedis(tb testing.TB) (*Redis, *redis.Client) {
	tb.Helper()
	c := newRedisClient(tb)
	prefix := uniquePrefix(tb)
	tb.Cleanup(func() { dropKeys(tb, c, prefix) })
	return NewRedis(c, prefix), c
}

func dropKeys(tb testing.TB, c *redis.Client, prefix string) {
	tb.Helper()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+":*", 100).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("clean up %s: %v", prefix, err)
	}
}
