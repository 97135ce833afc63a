package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const testPartitions = 3

// brokerCase is a broker to run an integration test against.
type brokerCase struct {
	name    string
	brokers []string
}

// testBrokerCases returns an in-test kfake cluster over TCP on 127.0.0.1
// and, when REELGUARD_TEST_KAFKA_BROKERS is set (make test points it at a
// running bin/devbroker), that broker too.
func testBrokerCases(tb testing.TB) []brokerCase {
	tb.Helper()
	cases := []brokerCase{{name: "kfake", brokers: startKfake(tb, nil)}}
	if env := os.Getenv("REELGUARD_TEST_KAFKA_BROKERS"); env != "" {
		cases = append(cases, brokerCase{name: "devbroker", brokers: strings.Split(env, ",")})
	}
	return cases
}

// startKfake starts a one-broker kfake cluster listening through gate
// (when not nil) and returns its address.
func startKfake(tb testing.TB, gate *gate) []string {
	tb.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(testPartitions)}
	if gate != nil {
		opts = append(opts, kfake.ListenFn(gate.listen))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c.ListenAddrs()
}

// gate is a listener switch standing in for a broker outage: while down
// it closes every connection, open or new; the broker's address stays
// the same, as after a broker restart.
type gate struct {
	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

func newGate(down bool) *gate { return &gate{down: down, conns: map[net.Conn]bool{}} }

func (g *gate) listen(network, address string) (net.Listener, error) {
	ln, err := net.Listen(network, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return gatedListener{Listener: ln, g: g}, nil
}

func (g *gate) set(down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = down
	if down {
		for c := range g.conns {
			c.Close()
		}
		clear(g.conns)
	}
}

type gatedListener struct {
	net.Listener
	g *gate
}

func (l gatedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.g.mu.Lock()
		down := l.g.down
		if !down {
			l.g.conns[c] = true
		}
		l.g.mu.Unlock()
		if !down {
			return c, nil
		}
		c.Close()
	}
}

func uniqueTopic(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return "events-test-" + hex.EncodeToString(b[:])
}

// createTopics creates topics (each with testPartitions partitions and
// configs) and deletes them when the test ends.
func createTopics(tb testing.TB, brokers []string, configs map[string]*string, topics ...string) {
	tb.Helper()
	adm := kadm.NewClient(newTestClient(tb, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := adm.CreateTopics(ctx, testPartitions, 1, configs, topics...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		tb.Fatalf("create topics %v: %v", topics, err)
	}
	tb.Cleanup(func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
		if err != nil {
			return
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = kadm.NewClient(cl).DeleteTopics(ctx, topics...)
	})
}

func newTestClient(tb testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	tb.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cl.Close)
	return cl
}

// consume reads topic from the start until it has want records, then
// polls once more briefly to catch any extra.
func consume(tb testing.TB, brokers []string, topic string, want int) []*kgo.Record {
	tb.Helper()
	cl := newTestClient(tb, brokers, kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want && ctx.Err() == nil {
		out = append(out, cl.PollFetches(ctx).Records()...)
	}
	extraCtx, extraCancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer extraCancel()
	return append(out, cl.PollFetches(extraCtx).Records()...)
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline (a hang guard, not a timing assertion).
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	start := time.Now()
	defer func() { tb.Logf("waited %v for %s", time.Since(start), what) }()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
