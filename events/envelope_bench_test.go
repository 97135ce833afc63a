package events

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// benchValue is about the size of a request-log line.
var benchValue = []byte("2024-03-09T14:05:07.123456,42,recommendation request 127.0.0.1:8082, status 200, result: heat+1995, up+2009, the+shawshank+redemption+1994, 12 ms")

func benchmarkSign(b *testing.B, alg string) {
	s := newTestSigner(b, alg)
	r := &kgo.Record{Topic: "recommendations", Key: []byte("42"), Value: benchValue}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Sign(r, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// benchmarkVerify verifies fresh records, so each one also moves the replay
// window, as on a real consumer.
func benchmarkVerify(b *testing.B, alg string) {
	s := newTestSigner(b, alg)
	v := newTestVerifier(b, s.VerifyKey())
	const batch = 4096
	records := make([]*kgo.Record, batch)
	sign := func() {
		for i := range records {
			records[i] = &kgo.Record{Topic: "recommendations", Key: []byte("42"), Value: benchValue}
			if err := s.Sign(records[i], testNow); err != nil {
				b.Fatal(err)
			}
		}
	}
	sign()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%batch == 0 {
			b.StopTimer()
			sign()
			b.StartTimer()
		}
		if err := v.Verify(records[i%batch]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignEd25519(b *testing.B)   { benchmarkSign(b, AlgEdDSA) }
func BenchmarkVerifyEd25519(b *testing.B) { benchmarkVerify(b, AlgEdDSA) }
func BenchmarkSignHMAC(b *testing.B)      { benchmarkSign(b, AlgHS256) }
func BenchmarkVerifyHMAC(b *testing.B)    { benchmarkVerify(b, AlgHS256) }
