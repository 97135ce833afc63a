package gateway

import (
	"net/http"
	"time"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/policy"
)

// topShown bounds each top list GET /admin/stats returns.
const topShown = 10

// stats is GET /admin/stats: what the dashboard shows beside alerts and
// blocks.
type stats struct {
	Time time.Time `json:"time"`
	// ModelVersion is the model version the retrieval service last named:
	// its X-Reelguard-Models list while a canary runs (main version first),
	// else its X-Reelguard-Model ("" before its first answer, or with the
	// answer cache off).
	ModelVersion string `json:"model_version"`
	// Policy is GET /admin/policy's answer; null without a policy engine.
	Policy *policy.Status `json:"policy"`
	// RateLimited counts requests refused with 429 since start, by stage
	// (ip, principal, flood, extraction); Blocked those refused by the
	// block list or a detector, by kind.
	RateLimited map[string]uint64 `json:"rate_limited"`
	Blocked     map[string]uint64 `json:"blocked"`
	// TopRequests ranks principals by authenticated requests over the last
	// one to two RequestsWindow; TopDistinct by distinct other users whose
	// recommendations they read in the extraction detector's window.
	TopRequests           []anomaly.RequestStat   `json:"top_requests"`
	TopDistinct           []anomaly.PrincipalStat `json:"top_distinct"`
	RequestsWindowSeconds float64                 `json:"requests_window_seconds"`
	DistinctWindowSeconds float64                 `json:"distinct_window_seconds"`
}

// statsHandler serves GET /admin/stats; pol may be nil.
func (g *Gateway) statsHandler(pol PolicyAdmin) http.Handler {
	return jsonHandler(func() any { return g.stats(pol, time.Now()) })
}

func (g *Gateway) stats(pol PolicyAdmin, now time.Time) stats {
	s := stats{
		Time:                  now.UTC(),
		ModelVersion:          g.modelVersion(),
		RateLimited:           g.metrics.counts("reelguard_rate_limited_total", "stage"),
		Blocked:               g.metrics.counts("reelguard_blocked_requests_total", "kind"),
		TopRequests:           g.monitor.Traffic.Top(now, topShown),
		TopDistinct:           g.monitor.Extraction.Top(now, topShown),
		RequestsWindowSeconds: g.monitor.Traffic.Window().Seconds(),
		DistinctWindowSeconds: g.monitor.Extraction.Window().Seconds(),
	}
	if pol != nil {
		st := pol.Status()
		s.Policy = &st
	}
	return s
}

// modelVersion is the model generation of the retrieval service's last
// cached answer, as the answer cache keeps it ("" with the cache off).
func (g *Gateway) modelVersion() string {
	if g.answers == nil {
		return ""
	}
	g.answers.mu.Lock()
	defer g.answers.mu.Unlock()
	return g.answers.model
}

// counts reads one counter family of the registry by one label.
func (m *Metrics) counts(family, label string) map[string]uint64 {
	out := map[string]uint64{}
	fams, _ := m.reg.Gather() // a failing collector still leaves the others' families
	for _, f := range fams {
		if f.GetName() != family {
			continue
		}
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] += uint64(mt.GetCounter().GetValue())
				}
			}
		}
	}
	return out
}
