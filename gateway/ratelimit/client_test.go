package ratelimit

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestNewRedisClientKinds(t *testing.T) {
	pool := 10 * runtime.GOMAXPROCS(0)
	cases := []struct {
		url        string
		cluster    bool
		read, dial time.Duration
		poolSize   int
	}{
		{"redis://127.0.0.1:6379/0", false, DefaultRedisIOTimeout, DefaultRedisDialTimeout, pool},
		{"redis://127.0.0.1:6379?read_timeout=20ms&pool_size=7", false, 20 * time.Millisecond, DefaultRedisDialTimeout, 7},
		{"redis://127.0.0.1:6379?master_name=mymaster&addr=127.0.0.1:26380", false, DefaultRedisIOTimeout, DefaultRedisDialTimeout, pool},
		{"redis://127.0.0.1:7000?addr=127.0.0.1:7001&dial_timeout=1s", true, DefaultRedisIOTimeout, time.Second, pool},
		{"redis+cluster://127.0.0.1:7000", true, DefaultRedisIOTimeout, DefaultRedisDialTimeout, pool},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			c, err := NewRedisClient(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p, pipelined := c.(*pipelinedClient)
			if !pipelined {
				t.Fatalf("client %T, want the autopipelined client by default", c)
			}
			c = p.base
			var got redis.Options
			switch v := c.(type) {
			case *redis.Client:
				got = *v.Options()
			case *redis.ClusterClient:
				o := v.Options()
				got = redis.Options{ReadTimeout: o.ReadTimeout, DialTimeout: o.DialTimeout, PoolSize: o.PoolSize,
					MaxRetries: o.MaxRetries, ContextTimeoutEnabled: o.ContextTimeoutEnabled}
			}
			if _, isCluster := c.(*redis.ClusterClient); isCluster != tc.cluster {
				t.Fatalf("client %T, want cluster %v", c, tc.cluster)
			}
			if got.ReadTimeout != tc.read || got.DialTimeout != tc.dial || got.PoolSize != tc.poolSize ||
				got.MaxRetries > 0 || !got.ContextTimeoutEnabled { // go-redis turns -1 into 0 for one server
				t.Fatalf("read %v dial %v pool %d retries %d ctx %v; want %v %v %d none true",
					got.ReadTimeout, got.DialTimeout, got.PoolSize, got.MaxRetries, got.ContextTimeoutEnabled,
					tc.read, tc.dial, tc.poolSize)
			}
		})
	}
}

func TestNewRedisClientAutopipelineOff(t *testing.T) {
	for _, u := range []string{"redis://127.0.0.1:6379?autopipeline=false", "redis+cluster://127.0.0.1:7000?autopipeline=0"} {
		c, err := NewRedisClient(u)
		if err != nil {
			t.Fatal(err)
		}
		if _, pipelined := c.(*pipelinedClient); pipelined {
			t.Errorf("%s: got the autopipelined client", u)
		}
		c.Close()
	}
}

func TestNewRedisClientBadURL(t *testing.T) {
	for _, u := range []string{"http://x", "redis://h:1?no_such_option=1", "redis+cluster://h:1?bogus=2", "::",
		"redis://h:1?autopipeline=maybe"} {
		if _, err := NewRedisClient(u); !errors.Is(err, ErrRedisURL) {
			t.Fatalf("NewRedisClient(%q) = %v, want ErrRedisURL", u, err)
		}
	}
}

func TestNewRedisClientWorks(t *testing.T) {
	c, err := NewRedisClient(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestPipelinedClientGoesDirectWhenQuiet: scripts go straight on a pooled
// connection while few are in flight, through the pipeliner when many are,
// and answer the same either way.
func TestPipelinedClientGoesDirectWhenQuiet(t *testing.T) {
	c, err := NewRedisClient(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := c.(*pipelinedClient)
	echo := redis.NewScript(`return ARGV[1]`)
	call := func(i int) {
		got, err := echo.Run(context.Background(), c, nil, strconv.Itoa(i)).Text()
		if err != nil || got != strconv.Itoa(i) {
			t.Errorf("script call %d = %q, %v", i, got, err)
		}
	}
	for i := range 20 {
		call(i)
	}
	if d, pl := p.direct.Load(), p.pipelined.Load(); d < 20 || pl != 0 {
		t.Fatalf("20 calls one at a time: %d direct, %d pipelined; want all direct", d, pl)
	}
	for round := 0; p.pipelined.Load() == 0 && round < 50; round++ {
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Go(func() { call(i) })
		}
		wg.Wait()
	}
	if p.pipelined.Load() == 0 {
		t.Fatal("64 calls at once never went through the pipeliner")
	}
	if n := p.inFlight.Load(); n != 0 {
		t.Fatalf("%d calls still counted in flight after all returned", n)
	}
}
