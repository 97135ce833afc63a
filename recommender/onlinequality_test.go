package recommender_test

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

var t0 = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

// handMonitor replays a small log whose figures are worked out by hand in
// TestOnlineMonitorByHand. Within 30m, Window 10m.
func handMonitor(tb testing.TB) *recommender.OnlineMonitor {
	tb.Helper()
	m := recommender.NewOnlineMonitor(recommender.OnlineConfig{Within: 30 * time.Minute, Window: 10 * time.Minute})
	ms := time.Millisecond
	m.ObserveWatch(recommender.OnlineWatch{Time: at(-4), User: "1", Movie: "a"}) // before A1: does not convert it
	m.ObserveWatch(recommender.OnlineWatch{Time: at(3), User: "5", Movie: "y"})  // read before B1, converts it
	for _, a := range []recommender.OnlineAnswer{
		{Time: at(1), User: "1", Model: "v1", Status: 200, Items: []string{"a", "b"}, Latency: 10 * ms},  // A1
		{Time: at(2), User: "2", Model: "v1", Status: 200, Items: []string{"a", "c"}, Latency: 20 * ms},  // A2
		{Time: at(3), User: "3", Model: "v1", Status: 500, Latency: 30 * ms},                             // A3
		{Time: at(4), User: "4", Model: "v1", Status: 200, Items: []string{"d"}, Latency: 40 * ms},       // A4
		{Time: at(1), User: "5", Model: "v2", Status: 200, Items: []string{"x", "y"}, Latency: 100 * ms}, // B1
		{Time: at(5), User: "6", Model: "v2", Status: 200, Items: []string{"y", "x"}, Latency: 200 * ms}, // B2
		{Time: at(6), User: "7", Status: 503, Latency: 5 * ms},                                           // no version
	} {
		m.ObserveAnswer(a)
	}
	m.ObserveWatch(recommender.OnlineWatch{Time: at(11), User: "1", Movie: "b"}) // converts A1
	m.ObserveWatch(recommender.OnlineWatch{Time: at(12), User: "1", Movie: "b"}) // same span: no double count
	m.ObserveWatch(recommender.OnlineWatch{Time: at(6), User: "2", Movie: "z"})  // not recommended
	m.ObserveWatch(recommender.OnlineWatch{Time: at(0), User: "4", Movie: "d"})  // watching d when A4 came:
	m.ObserveWatch(recommender.OnlineWatch{Time: at(5), User: "4", Movie: "d"})  // still the same viewing, no conversion
	m.ObserveWatch(recommender.OnlineWatch{Time: at(35), User: "4", Movie: "d"}) // 31 minutes after A4: too late
	return m
}

func TestOnlineMonitorByHand(t *testing.T) {
	m := handMonitor(t)
	ms := time.Millisecond
	// At t0+10m the window (t0, t0+10m] holds every answer; at t0+40m the
	// settled stretch (t0, t0+10m] does.
	live, settled := m.SnapshotAt(at(10)), m.SnapshotAt(at(40))
	tests := []struct {
		version             string
		answers, ok         int
		availability        float64
		p50, p90, p99       time.Duration
		lists, distinct     int
		personalization     float64
		settledN, converted int
		quality             float64
	}{
		// v1: latencies 10,20,30,40 (ranks ceil(.5*4)=2, ceil(.9*4)=4);
		// lists {a,b},{a,c},{d}: Jaccards 1/3, 0, 0, mean 1/9.
		{"v1", 4, 3, 0.75, 20 * ms, 40 * ms, 40 * ms, 3, 3, 8.0 / 9, 3, 1, 1.0 / 3},
		// v2: the same set twice: Jaccard 1; B1 converted by a watch read first.
		{"v2", 2, 2, 1, 100 * ms, 200 * ms, 200 * ms, 2, 1, 0, 2, 1, 0.5},
		{recommender.UnknownModel, 1, 0, 0, 5 * ms, 5 * ms, 5 * ms, 0, 0, 0, 0, 0, 0},
	}
	if len(live.Versions) != len(tests) {
		t.Fatalf("versions %+v, want %d", live.Versions, len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			l, ok1 := live.Version(tc.version)
			s, ok2 := settled.Version(tc.version)
			if !ok1 || !ok2 {
				t.Fatalf("version %s missing", tc.version)
			}
			if l.Answers != tc.answers || l.OK != tc.ok || !near(l.Availability, tc.availability) {
				t.Errorf("answers %d ok %d availability %g", l.Answers, l.OK, l.Availability)
			}
			if l.LatencyP50 != tc.p50 || l.LatencyP90 != tc.p90 || l.LatencyP99 != tc.p99 {
				t.Errorf("latency p50 %v p90 %v p99 %v", l.LatencyP50, l.LatencyP90, l.LatencyP99)
			}
			if l.Lists != tc.lists || l.DistinctLists != tc.distinct || !near(l.Personalization, tc.personalization) {
				t.Errorf("lists %d distinct %d personalization %g", l.Lists, l.DistinctLists, l.Personalization)
			}
			if s.Settled != tc.settledN || s.Converted != tc.converted || !near(s.Quality, tc.quality) {
				t.Errorf("settled %d converted %d quality %g", s.Settled, s.Converted, s.Quality)
			}
			if l.Settled != 0 {
				t.Errorf("at t0+10m nothing has settled, got %d", l.Settled)
			}
		})
	}
	if w := m.Watermark(); !w.Equal(at(6)) {
		t.Errorf("watermark %v, want t0+6m: the latest answer, not the latest watch", w)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestOnlineMonitorBounds: MaxAnswers drops the oldest answers, a watch
// dated in the future moves nothing, and answers moving time on drop
// answers no snapshot can use.
func TestOnlineMonitorBounds(t *testing.T) {
	m := recommender.NewOnlineMonitor(recommender.OnlineConfig{Within: time.Minute, Window: time.Minute, MaxAnswers: 2})
	for i, u := range []string{"1", "2", "3"} {
		m.ObserveAnswer(recommender.OnlineAnswer{Time: at(0).Add(time.Duration(i) * time.Second), User: u, Model: "v", Status: 200, Items: []string{"a"}})
	}
	if v, _ := m.SnapshotAt(at(1)).Version("v"); v.Answers != 2 {
		t.Fatalf("kept %d answers, want MaxAnswers=2", v.Answers)
	}
	m.ObserveWatch(recommender.OnlineWatch{Time: at(6000), User: "9", Movie: "a"}) // from the future
	if v, _ := m.SnapshotAt(at(1)).Version("v"); v.Answers != 2 || !m.Watermark().Equal(at(0).Add(2*time.Second)) {
		t.Fatalf("a future watch moved the watermark to %v or evicted answers (%d kept)", m.Watermark(), v.Answers)
	}
	m.ObserveAnswer(recommender.OnlineAnswer{Time: at(60), User: "3", Model: "w", Status: 200, Items: []string{"a"}}) // an hour on
	snap := m.SnapshotAt(at(2))
	if _, ok := snap.Version("v"); ok {
		t.Errorf("answers two windows old still kept: %+v", snap.Versions)
	}
}

// BenchmarkOnlineMonitor is one answer and three watches, the monitor's
// per-record cost: go test -run '^$' -bench OnlineMonitor -benchtime 20000x ./recommender/
func BenchmarkOnlineMonitor(b *testing.B) {
	m := recommender.NewOnlineMonitor(recommender.OnlineConfig{})
	items := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t"}
	for i := 0; b.Loop(); i++ {
		user := strconv.Itoa(i % 5000)
		now := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		m.ObserveAnswer(recommender.OnlineAnswer{Time: now, User: user, Model: "v1", Status: 200, Items: items, Latency: time.Millisecond})
		for j := range 3 {
			m.ObserveWatch(recommender.OnlineWatch{Time: now.Add(time.Duration(j) * time.Minute), User: user, Movie: items[(i+j)%25%20]})
		}
	}
	if b.N > 1000 {
		b.ReportMetric(float64(len(m.Snapshot().Versions)), "versions")
	}
}
