package recommender

import (
	"math"
	"slices"
	"strings"
	"time"
)

// VersionStats are one model version's online figures in a snapshot.
type VersionStats struct {
	Version string
	// Answers counts the version's answers in the window, of any status;
	// OK those with status 200; Availability is OK/Answers (0 with none).
	Answers, OK  int
	Availability float64
	// LatencyP50, P90 and P99 are nearest-rank percentiles of the latency
	// the log shows for the window's answers (any status).
	LatencyP50, LatencyP90, LatencyP99 time.Duration
	// Settled counts the 200 answers with at least one movie whose Within
	// has passed (those of the Window ending Within before the snapshot);
	// Converted those followed by a watch of one of their movies; Quality
	// is Converted/Settled (0 with none).
	Settled, Converted int
	Quality            float64
	// Lists counts the users with a 200 answer in the window (their latest
	// list counts); DistinctLists how many different lists (as sets) they
	// got; Personalization is 1 - the mean Jaccard similarity of pairs of
	// those lists (all pairs, or Pairs of them drawn with a fixed seed: see
	// Personalization); 0 with fewer than two lists.
	Lists, DistinctLists int
	Personalization      float64
}

// OnlineSnapshot is the monitor's figures at one time, versions sorted.
type OnlineSnapshot struct {
	At       time.Time
	Versions []VersionStats
}

// Version returns the stats of version v and whether it was seen.
func (s OnlineSnapshot) Version(v string) (VersionStats, bool) {
	for _, vs := range s.Versions {
		if vs.Version == v {
			return vs, true
		}
	}
	return VersionStats{}, false
}

// Snapshot computes the figures at the watermark.
func (m *OnlineMonitor) Snapshot() OnlineSnapshot {
	return m.SnapshotAt(m.Watermark())
}

// personalizationSeed draws the sampled pairs: fixed, so a snapshot of the
// same answers always gives the same figure.
const personalizationSeed = 0x9e3779b9

// versionAcc gathers one version's answers while a snapshot is taken.
type versionAcc struct {
	stats     VersionStats
	latencies []time.Duration
	lists     map[string]*onlineAnswer // user -> latest 200 answer in the window
}

// SnapshotAt computes the figures at now: answers with now-Window < Time
// <= now for availability, latency and personalization; answers with
// now-Within-Window < Time <= now-Within for quality.
func (m *OnlineMonitor) SnapshotAt(now time.Time) OnlineSnapshot {
	m.mu.Lock()
	accs := map[string]*versionAcc{}
	settleEnd := now.Add(-m.cfg.Within)
	for _, a := range m.queue[m.head:] {
		acc := accs[a.Model]
		if acc == nil {
			acc = &versionAcc{stats: VersionStats{Version: a.Model}, lists: map[string]*onlineAnswer{}}
			accs[a.Model] = acc
		}
		if inWindow(a.Time, now, m.cfg.Window) {
			acc.add(a)
		}
		if inWindow(a.Time, settleEnd, m.cfg.Window) && a.Status == 200 && len(a.Items) > 0 {
			acc.stats.Settled++
			if a.converted {
				acc.stats.Converted++
			}
		}
	}
	m.mu.Unlock()
	snap := OnlineSnapshot{At: now}
	for _, acc := range accs {
		snap.Versions = append(snap.Versions, acc.finish(m.cfg.Pairs))
	}
	slices.SortFunc(snap.Versions, func(a, b VersionStats) int { return strings.Compare(a.Version, b.Version) })
	return snap
}

// inWindow reports end-window < t <= end.
func inWindow(t, end time.Time, window time.Duration) bool {
	return !t.After(end) && t.After(end.Add(-window))
}

func (acc *versionAcc) add(a *onlineAnswer) {
	acc.stats.Answers++
	acc.latencies = append(acc.latencies, a.Latency)
	if a.Status != 200 {
		return
	}
	acc.stats.OK++
	if prev := acc.lists[a.User]; prev == nil || !a.Time.Before(prev.Time) {
		acc.lists[a.User] = a
	}
}

func (acc *versionAcc) finish(pairs int) VersionStats {
	st := acc.stats
	st.Availability = ratio(st.OK, st.Answers)
	st.Quality = ratio(st.Converted, st.Settled)
	slices.Sort(acc.latencies)
	st.LatencyP50 = nearestRank(acc.latencies, 0.50)
	st.LatencyP90 = nearestRank(acc.latencies, 0.90)
	st.LatencyP99 = nearestRank(acc.latencies, 0.99)
	users := make([]string, 0, len(acc.lists))
	for u := range acc.lists {
		users = append(users, u)
	}
	slices.Sort(users)
	sets := make([][]string, len(users))
	distinct := map[string]bool{}
	for i, u := range users {
		sets[i] = slices.Sorted(slices.Values(acc.lists[u].Items))
		sets[i] = slices.Compact(sets[i])
		distinct[strings.Join(sets[i], ",")] = true
	}
	st.Lists, st.DistinctLists = len(sets), len(distinct)
	st.Personalization = Personalization(sets, pairs, personalizationSeed)
	return st
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// nearestRank is the p-th percentile of sorted: the value at rank ceil(p*n).
func nearestRank(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
