package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// writeReport prints the run's settings, the legitimate success rate and
// percentiles, and every class's outcomes.
func writeReport(w io.Writer, cfg *config, res *results) {
	l := res.legit.summary()
	fmt.Fprintf(w, "target %s, %s, legit %d %s clients × %.1f req/s (%s) from %d addresses, flood %.0f req/s (%s, %s, %d conns) from %s, slow %d/%d/%d every %s\n",
		cfg.URL.Redacted(), res.elapsed.Round(time.Millisecond), cfg.Users, cfg.Role, cfg.Rate, cfg.Proto, len(cfg.LegitSrc),
		cfg.floodRate(), cfg.FloodAuth, cfg.FloodProto, cfg.FloodConns, cfg.FloodSrc, cfg.Slowloris, cfg.SlowBody, cfg.SlowRead, cfg.SlowInterval)
	rate := 0.0
	if l.total > 0 {
		rate = 100 * float64(l.ok) / float64(l.total)
	}
	fmt.Fprintf(w, "legitimate success: %d/%d = %.3f%%\n", l.ok, l.total, rate)
	fmt.Fprintf(w, "%-11s %8s  %-9s %-9s %-9s %-9s  %s\n", "class", "count", "p50", "p90", "p99", "max", "outcomes")
	for _, st := range []*classStats{res.legit, res.flood, res.slowloris, res.slowBody, res.slowRead} {
		s := st.summary()
		if s.total == 0 {
			continue
		}
		fmt.Fprintf(w, "%-11s %8d  %-9s %-9s %-9s %-9s  %s\n", s.name, s.total,
			short(s.p50), short(s.p90), short(s.p99), short(s.max), outcomes(s.outcomes))
	}
	fmt.Fprintln(w, "(times: request latency for legitimate and flood; how long the server held each connection for the slow classes)")
}

func outcomes(m map[string]int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s=%d ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

func short(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
