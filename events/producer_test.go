package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// testBrokers returns a broker to test against: REELGUARD_TEST_KAFKA_BROKERS
// (the test script points it at a running bin/devbroker) or an in-process
// kfake cluster on 127.0.0.1. Topic names are unique per test so a shared
// broker keeps runs apart; they are deleted afterwards.
func testBrokers(tb testing.TB, topic string) []string {
	tb.Helper()
	if env := os.Getenv("REELGUARD_TEST_KAFKA_BROKERS"); env != "" {
		brokers := strings.Split(env, ",")
		tb.Cleanup(func() { deleteTopic(tb, brokers, topic) })
		return brokers
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c.ListenAddrs()
}

func deleteTopic(tb testing.TB, brokers []string, topic string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).DeleteTopics(ctx, topic); err != nil {
		tb.Logf("delete test topic %s: %v", topic, err)
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

func TestProducerDeliversSignedRecords(t *testing.T) {
	const n = 200
	topic := uniqueTopic(t)
	brokers := testBrokers(t, topic)
	s := newTestSigner(t, AlgEdDSA)
	p, err := NewProducer(ProducerConfig{Brokers: brokers, Signer: s, Buffer: n})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if !p.Send(topic, []byte(strconv.Itoa(i)), []byte("value "+strconv.Itoa(i))) {
			t.Fatalf("Send %d dropped", i)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := p.Stats(); st.Sent != n || st.Failed != 0 || st.Dropped != 0 {
		t.Fatalf("Stats = %+v, want %d sent", st, n)
	}
	if p.Send(topic, nil, []byte("late")) || p.Stats().Dropped != 1 {
		t.Fatal("Send after Close was not refused and counted")
	}

	records := consume(t, brokers, topic, n)
	v := newTestVerifier(t, s.VerifyKey())
	seqs := make(map[string]bool, n)
	for _, r := range records {
		if err := v.Verify(r); err != nil {
			t.Fatalf("record %s: %v", r.Key, err)
		}
		if header(r, HeaderPID) != s.PID() {
			t.Fatalf("record %s has pid %q, want %q", r.Key, header(r, HeaderPID), s.PID())
		}
		seqs[header(r, HeaderSeq)] = true
		if want := "value " + string(r.Key); string(r.Value) != want {
			t.Fatalf("value %q, want %q", r.Value, want)
		}
	}
	if len(records) != n || len(seqs) != n {
		t.Fatalf("consumed %d records with %d distinct seqs, want %d", len(records), len(seqs), n)
	}
}

// consume reads topic from the start until it has want records, then
// polls once more briefly to catch any extra.
func consume(tb testing.TB, brokers []string, topic string, want int) []*kgo.Record {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want && ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		fetches.EachError(func(t string, p int32, err error) {
			if ctx.Err() == nil {
				tb.Logf("fetch %s/%d: %v", t, p, err)
			}
		})
		out = append(out, fetches.Records()...)
	}
	extraCtx, extraCancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer extraCancel()
	out = append(out, cl.PollFetches(extraCtx).Records()...)
	return out
}

func TestProducerDropsWhenFull(t *testing.T) {
	// Nothing listens on 127.0.0.1:1, so whatever is queued fails at Close.
	// The loop starts only after the sends, so the queue of 2 holds two
	// records and refuses the third.
	client, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(ProducerConfig{Signer: newTestSigner(t, AlgHS256), Buffer: 2,
		FlushTimeout: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}, client)
	got := []bool{p.Send("movielog", nil, []byte("a")), p.Send("movielog", nil, []byte("b")), p.Send("movielog", nil, []byte("c"))}
	if !got[0] || !got[1] || got[2] {
		t.Fatalf("Send results %v, want [true true false]", got)
	}
	go p.loop()
	if err := p.Close(); err == nil {
		t.Fatal("Close reported a flush with no broker as done")
	}
	if st := p.Stats(); st != (ProducerStats{Failed: 2, Dropped: 1}) {
		t.Fatalf("Stats = %+v, want 2 failed, 1 dropped", st)
	}
}

func TestNewProducerNeedsBrokersAndSigner(t *testing.T) {
	s := newTestSigner(t, AlgEdDSA)
	for name, cfg := range map[string]ProducerConfig{
		"no brokers": {Signer: s},
		"no signer":  {Brokers: []string{"127.0.0.1:9092"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewProducer(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
