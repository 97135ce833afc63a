package main

import (
	"bufio"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startBroker runs run() on a free 127.0.0.1 port and returns its address
// and a stop function that waits for run to return.
func startBroker(tb testing.TB, dataDir string) (addr string, stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"--listen", "127.0.0.1:0", "--data", dataDir, "--partitions", "2"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "devbroker listening on ")
	if err != nil || !ok {
		cancel()
		tb.Fatalf("first line %q (%v), run: %v", line, err, <-errc)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-errc; err != nil {
			tb.Errorf("run: %v", err)
		}
	}
	tb.Cleanup(stop)
	return addr, stop
}

func newClient(tb testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	tb.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cl.Close)
	return cl
}

func consumeOne(tb testing.TB, addr, topic string) *kgo.Record {
	tb.Helper()
	cl := newClient(tb, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if recs := cl.PollFetches(ctx).Records(); len(recs) > 0 {
			return recs[0]
		}
	}
	tb.Fatalf("no record on %s", topic)
	return nil
}

func TestDevbrokerServesAndPersists(t *testing.T) {
	dir := t.TempDir()
	addr, stop := startBroker(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	topics, err := kadm.NewClient(newClient(t, addr)).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"movielog", "movielog.rejected", "recommendations", "security-alerts", "decisions", "decisions.rejected"} {
		if !slices.Contains(topics.Names(), want) {
			t.Fatalf("topic %s not seeded: %v", want, topics.Names())
		}
		if n := len(topics[want].Partitions); n != 2 {
			t.Fatalf("topic %s has %d partitions, want 2", want, n)
		}
	}

	rec := &kgo.Record{Topic: "movielog", Key: []byte("42"), Value: []byte("hello"),
		Headers: []kgo.RecordHeader{{Key: "sig-v", Value: []byte("1")}}}
	if err := newClient(t, addr).ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	got := consumeOne(t, addr, "movielog")
	if string(got.Value) != "hello" || string(got.Key) != "42" || len(got.Headers) != 1 {
		t.Fatalf("consumed %+v", got)
	}

	stop()
	addr, _ = startBroker(t, dir)
	if got := consumeOne(t, addr, "movielog"); string(got.Value) != "hello" {
		t.Fatalf("after restart consumed %q", got.Value)
	}
}

func TestDevbrokerRefusesSharedDataDir(t *testing.T) {
	dir := t.TempDir()
	startBroker(t, dir)
	err := run(context.Background(), []string{"--listen", "127.0.0.1:0", "--data", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second broker on the same data folder: %v", err)
	}
}

func TestParseFlags(t *testing.T) {
	t.Setenv("REELGUARD_KAFKA_EMBEDDED_LISTEN", "127.0.0.1:19092")
	t.Setenv("REELGUARD_DATA", "/srv/rg")
	tests := []struct {
		name    string
		args    []string
		want    config
		wantErr bool
	}{
		{"env defaults", nil, config{listen: "127.0.0.1:19092", dataDir: "/srv/rg/broker", partitions: 3}, false},
		{"flags win", []string{"--listen", ":9", "--data", "d", "--partitions", "1"}, config{listen: ":9", dataDir: "d", partitions: 1}, false},
		{"zero partitions", []string{"--partitions", "0"}, config{}, true},
		{"stray argument", []string{"extra"}, config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseFlags = %+v, %v", got, err)
			}
		})
	}
}
