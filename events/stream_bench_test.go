package events

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The stream benchmarks run an in-test kfake broker in this process, so it
// shares the cores with the producer or consumer:
//
//	go test -run '^$' -bench 'Produce|Consume' -benchtime 100000x ./events/

// benchmarkProduce measures Append (durable: group-committed fsync) plus
// signing and delivery: b.N records acknowledged by the broker.
func benchmarkProduce(b *testing.B, alg string, batch int) {
	brokers := startKfake(b, nil)
	topic := uniqueTopic(b)
	createTopics(b, brokers, nil, topic)
	p := newTestProducer(b, ProducerConfig{Brokers: brokers, Signer: newTestSigner(b, alg),
		SpoolDir: b.TempDir(), SpoolMaxBytes: 1 << 30})
	var next atomic.Int64
	b.SetParallelism(64) // concurrent requests, each waiting for its fsync
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var recs []Record
		for pb.Next() {
			key := strconv.FormatInt(next.Add(1)%1000, 10)
			recs = append(recs, Record{Topic: topic, Key: []byte(key), Value: benchValue})
			if len(recs) < batch {
				continue
			}
			if err := p.AppendBatch(context.Background(), recs); err != nil {
				b.Error(err)
				return
			}
			recs = recs[:0]
		}
		if err := p.AppendBatch(context.Background(), recs); err != nil {
			b.Error(err)
		}
	})
	for p.Stats().Sent < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

// benchmarkConsume measures the Consumer: fetch, verify (in parallel) and
// the replay window, b.N records handed to a no-op handler.
func benchmarkConsume(b *testing.B, alg string) {
	brokers := startKfake(b, nil)
	topic := uniqueTopic(b)
	createTopics(b, brokers, nil, topic)
	s := newTestSigner(b, alg)
	cl := newTestClient(b, brokers, kgo.ProducerLinger(5*time.Millisecond))
	now := time.Now()
	for i := range b.N {
		r := &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i % 1000)), Value: benchValue}
		if err := s.Sign(r, now); err != nil {
			b.Fatal(err)
		}
		cl.Produce(context.Background(), r, nil)
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	var handled atomic.Int64
	b.ResetTimer()
	start := time.Now()
	runConsumer(b, ConsumerConfig{Brokers: brokers, Group: topic, Topics: []string{topic},
		Verifier: newTestVerifier(b, s.VerifyKey()), MaxPollRecords: 5000,
		Handler: func(context.Context, *kgo.Record) error { handled.Add(1); return nil }})
	for handled.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

func BenchmarkProduceEd25519(b *testing.B) { benchmarkProduce(b, AlgEdDSA, 1) }
func BenchmarkProduceHMAC(b *testing.B)    { benchmarkProduce(b, AlgHS256, 1) }

// Batches of 100, as one POST /events of 100 lines.
func BenchmarkProduceBatchEd25519(b *testing.B) { benchmarkProduce(b, AlgEdDSA, 100) }
func BenchmarkProduceBatchHMAC(b *testing.B)    { benchmarkProduce(b, AlgHS256, 100) }
func BenchmarkConsumeEd25519(b *testing.B)      { benchmarkConsume(b, AlgEdDSA) }
func BenchmarkConsumeHMAC(b *testing.B)         { benchmarkConsume(b, AlgHS256) }
