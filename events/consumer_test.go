package events

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// handled collects what a Consumer's Handler got, by value.
type handled struct {
	mu     sync.Mutex
	counts map[string]int
	n      int
}

func (h *handled) handle(_ context.Context, r *kgo.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts == nil {
		h.counts = map[string]int{}
	}
	h.counts[string(r.Value)]++
	h.n++
	return nil
}

func (h *handled) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// runConsumer runs a Consumer until the test ends or stop is called.
func runConsumer(tb testing.TB, cfg ConsumerConfig) (c *Consumer, stop func()) {
	tb.Helper()
	c, err := NewConsumer(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("Run: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	return c, stop
}

func produceSync(tb testing.TB, cl *kgo.Client, rs ...*kgo.Record) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		tb.Fatalf("produce: %v", err)
	}
}

func TestConsumerRejectsForgeriesAndReplays(t *testing.T) {
	for _, bc := range testBrokerCases(t) {
		t.Run(bc.name, func(t *testing.T) {
			topic := uniqueTopic(t)
			createTopics(t, bc.brokers, nil, topic, topic+RejectedSuffix)
			good, revoked := newTestSigner(t, AlgEdDSA), newTestSigner(t, AlgEdDSA)
			revokedKey := revoked.VerifyKey()
			revokedKey.Status = StatusRevoked
			ks, err := NewKeyset(good.VerifyKey(), revokedKey)
			if err != nil {
				t.Fatal(err)
			}
			sign := func(s *Signer, value string, at time.Time) *kgo.Record {
				r := &kgo.Record{Topic: topic, Key: []byte("42"), Value: []byte(value)}
				if err := s.Sign(r, at); err != nil {
					t.Fatal(err)
				}
				return r
			}
			now := time.Now()
			valid := []*kgo.Record{sign(good, "valid-1", now), sign(good, "valid-2", now), sign(good, "valid-3", now)}
			tampered := sign(good, "tampered", now)
			tampered.Value = []byte("tampered: rating 1")
			stale := sign(good, "stale", now.Add(-time.Hour))
			stale.Timestamp = now
			replay := &kgo.Record{Topic: topic, Key: valid[0].Key, Value: valid[0].Value,
				Headers: valid[0].Headers, Timestamp: valid[0].Timestamp}
			wantReasons := map[string]string{
				"unsigned": "unsigned", "tampered: rating 1": "bad_signature", "revoked": "revoked_kid",
				"valid-1": "replay", "stale": "skew",
			}
			// One key, so one partition: the replay comes after its original.
			produceSync(t, newTestClient(t, bc.brokers), valid[0], valid[1],
				&kgo.Record{Topic: topic, Key: []byte("42"), Value: []byte("unsigned")},
				tampered, sign(revoked, "revoked", now), replay, stale, valid[2])

			var h handled
			var rejMu sync.Mutex
			reported := map[string]string{}
			c, _ := runConsumer(t, ConsumerConfig{Brokers: bc.brokers, Group: topic, Topics: []string{topic},
				Verifier: NewVerifier(ks, 0), Handler: h.handle,
				StateFile: filepath.Join(t.TempDir(), "replay.json"),
				OnReject: func(r *kgo.Record, reason string, _ error) {
					rejMu.Lock()
					reported[string(r.Value)] = reason
					rejMu.Unlock()
				}})
			waitFor(t, "every record verified", func() bool {
				st := c.Stats()
				n := 0
				for _, k := range st.Rejected {
					n += int(k)
				}
				return st.Valid == 3 && n == len(wantReasons)
			})
			for _, r := range valid {
				if n := h.counts[string(r.Value)]; n != 1 {
					t.Fatalf("%s handled %d times, want once", r.Value, n)
				}
			}
			rejected := consume(t, bc.brokers, topic+RejectedSuffix, len(wantReasons))
			if len(rejected) != len(wantReasons) {
				t.Fatalf("%d records on %s, want %d", len(rejected), topic+RejectedSuffix, len(wantReasons))
			}
			for _, r := range rejected {
				want := wantReasons[string(r.Value)]
				if got := header(r, HeaderRejectReason); got != want {
					t.Errorf("%q rejected as %q, want %q", r.Value, got, want)
				}
				if reported[string(r.Value)] != want {
					t.Errorf("%q reported as %q, want %q", r.Value, reported[string(r.Value)], want)
				}
				if want != "unsigned" && header(r, HeaderSig) == "" {
					t.Errorf("%q lost its original headers", r.Value)
				}
			}
		})
	}
}

func TestConsumerReplayStateSurvivesRestart(t *testing.T) {
	brokers := startKfake(t, nil)
	topic := uniqueTopic(t)
	createTopics(t, brokers, nil, topic, topic+RejectedSuffix)
	s := newTestSigner(t, AlgHS256)
	state := filepath.Join(t.TempDir(), "replay.json")
	original := &kgo.Record{Topic: topic, Key: []byte("7"), Value: []byte("once")}
	if err := s.Sign(original, time.Now()); err != nil {
		t.Fatal(err)
	}
	cl := newTestClient(t, brokers)
	produceSync(t, cl, original)

	var h handled
	cfg := ConsumerConfig{Brokers: brokers, Group: topic, Topics: []string{topic},
		Verifier: newTestVerifier(t, s.VerifyKey()), Handler: h.handle, StateFile: state}
	_, stop := runConsumer(t, cfg)
	waitFor(t, "the original handled", func() bool { return h.total() == 1 })
	stop() // commits and saves the windows

	replay := &kgo.Record{Topic: topic, Key: original.Key, Value: original.Value, Headers: original.Headers, Timestamp: original.Timestamp}
	produceSync(t, cl, replay)
	cfg.Verifier = newTestVerifier(t, s.VerifyKey()) // a fresh process: windows only from the file
	c, _ := runConsumer(t, cfg)
	waitFor(t, "the replay rejected", func() bool { return c.Stats().Rejected["replay"] == 1 })
	if h.total() != 1 {
		t.Fatalf("handler saw %d records, want the original only", h.total())
	}
}

// kfake (so bin/devbroker) keeps CreateTime even on a topic configured
// with message.timestamp.type=LogAppendTime (only Apache Kafka applies
// it), so this shows the refusal side only.
func TestConsumerRequireLogAppendTime(t *testing.T) {
	brokers := startKfake(t, nil)
	topic := uniqueTopic(t)
	createTopics(t, brokers, nil, topic, topic+RejectedSuffix)
	s := newTestSigner(t, AlgHS256)
	r := &kgo.Record{Topic: topic, Value: []byte("create time")}
	if err := s.Sign(r, time.Now()); err != nil {
		t.Fatal(err)
	}
	produceSync(t, newTestClient(t, brokers), r)
	ks, err := NewKeyset(s.VerifyKey())
	if err != nil {
		t.Fatal(err)
	}
	var h handled
	c, _ := runConsumer(t, ConsumerConfig{Brokers: brokers, Group: topic, Topics: []string{topic},
		Verifier: NewVerifier(ks, 0, RequireLogAppendTime()), Handler: h.handle})
	waitFor(t, "the record rejected", func() bool { return c.Stats().Rejected["timestamp_type"] == 1 })
	if h.total() != 0 {
		t.Fatal("a CreateTime record reached the handler")
	}
}

func TestConsumerRetriesHandler(t *testing.T) {
	brokers := startKfake(t, nil)
	topic := uniqueTopic(t)
	createTopics(t, brokers, nil, topic)
	s := newTestSigner(t, AlgHS256)
	for i := range 3 {
		r := &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte(strconv.Itoa(i))}
		if err := s.Sign(r, time.Now()); err != nil {
			t.Fatal(err)
		}
		produceSync(t, newTestClient(t, brokers), r)
	}
	var mu sync.Mutex
	var got []string
	failures := 2
	c, _ := runConsumer(t, ConsumerConfig{Brokers: brokers, Group: topic, Topics: []string{topic},
		Verifier: newTestVerifier(t, s.VerifyKey()),
		Handler: func(_ context.Context, r *kgo.Record) error {
			mu.Lock()
			defer mu.Unlock()
			if string(r.Value) == "1" && failures > 0 {
				failures--
				return errors.New("training store busy")
			}
			got = append(got, string(r.Value))
			return nil
		}})
	waitFor(t, "three records handled", func() bool { return c.Stats().Valid == 3 })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[0] != "0" || got[1] != "1" || got[2] != "2" {
		t.Fatalf("handled %v, want [0 1 2] in order, the failing one retried", got)
	}
}
