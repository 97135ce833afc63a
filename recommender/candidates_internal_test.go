package recommender

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkRecommendALSMinSupport is BenchmarkRecommendALS with a third of
// the 27k items not candidates (every third item, so as likely as any to
// score high): the cost of asking the scorer for more and dropping them.
//
//	go test -run '^$' -bench 'RecommendALS' -benchtime 5000x ./recommender/
func BenchmarkRecommendALSMinSupport(b *testing.B) {
	m := benchALSModel()
	m.minSupport, m.popular = 2, nil
	for i, item := range m.als.items {
		if i%3 != 0 {
			m.popular = append(m.popular, Scored{Item: item, Score: 1})
		}
	}
	m.Warm()
	if len(m.blocked) != 9000 {
		b.Fatalf("%d items blocked, want 9000", len(m.blocked))
	}
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		got := m.Recommend(m.als.users[i%len(m.als.users)], 20, true)
		lat = append(lat, time.Since(start))
		if len(got) != 20 {
			b.Fatalf("%d items", len(got))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
