package anomaly

import (
	"math"
	"slices"
)

// madScale makes the median absolute deviation estimate a normal
// distribution's standard deviation.
const madScale = 1.4826

// featureFields lists the features z-scored, in ProfileFeatures order.
var featureFields = []func(*ProfileFeatures) *float64{
	func(f *ProfileFeatures) *float64 { return &f.RDMA },
	func(f *ProfileFeatures) *float64 { return &f.WDMA },
	func(f *ProfileFeatures) *float64 { return &f.WDA },
	func(f *ProfileFeatures) *float64 { return &f.DegSim },
	func(f *ProfileFeatures) *float64 { return &f.LengthVar },
	func(f *ProfileFeatures) *float64 { return &f.FMTD },
	func(f *ProfileFeatures) *float64 { return &f.Residual },
}

// standardize fills every profile's robust z-scores against the judged
// population (profiles of at least MinProfile ratings).
func standardize(rep *ProfileReport, cfg ProfileConfig) {
	xs := make([]float64, 0, len(rep.Profiles))
	for _, field := range featureFields {
		xs = xs[:0]
		for i := range rep.Profiles {
			if p := &rep.Profiles[i]; p.Ratings >= cfg.MinProfile {
				xs = append(xs, *field(&p.Features))
			}
		}
		center, spread := robustScale(xs)
		for i := range rep.Profiles {
			p := &rep.Profiles[i]
			*field(&p.Z) = (*field(&p.Features) - center) / spread
		}
	}
}

// robustScale returns the median of xs and its MAD scaled to a standard
// deviation, floored so a population of near-identical values does not make
// every tiny difference huge. xs is reordered.
func robustScale(xs []float64) (center, spread float64) {
	center = median(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - center)
	}
	spread = madScale * median(dev)
	return center, math.Max(spread, 1e-9+0.01*math.Abs(center))
}

// suspicion is one profile's own evidence: the robust z-score of its
// Residual, how badly similar users predict its ratings. It is the one
// feature that moved for every attack model in the shilling test (random,
// average and bandwagon filler is drawn without a taste behind it); RDMA,
// WDMA, DegSim, LengthVar and FMTD are reported, but on that data genuine
// profiles spread across the attack profiles' values, and WDMA and RDMA
// follow the rarity of the items rated, which the item focus would then
// mistake for a campaign.
func suspicion(z ProfileFeatures) float64 { return z.Residual }

// judge scores, focuses and flags the judged profiles.
func judge(rep *ProfileReport, m *ratingMatrix, cfg ProfileConfig) {
	standardize(rep, cfg)
	for i := range rep.Profiles {
		if p := &rep.Profiles[i]; p.Ratings >= cfg.MinProfile {
			p.Score = suspicion(p.Z)
			rep.Judged++
		}
	}
	focus := itemFocus(rep, m, cfg)
	for u := range rep.Profiles {
		p := &rep.Profiles[u]
		if p.Ratings < cfg.MinProfile {
			continue
		}
		for _, c := range m.byUser[u] {
			if c.val == float32(cfg.MaxRating) {
				p.Features.TargetFocus = math.Max(p.Features.TargetFocus, focus[c.idx])
			}
		}
		strong := p.Score >= cfg.Threshold
		focused := p.Features.TargetFocus >= cfg.FocusThreshold && p.Score >= cfg.FocusSuspicion
		if p.Flagged = strong || focused; p.Flagged {
			rep.Flagged = append(rep.Flagged, p.User)
		}
	}
	slices.Sort(rep.Flagged)
}

// itemFocus is, per item, Stouffer's combination of the suspicion of the
// judged profiles that rate it at the maximum: Σ s_u / √n. A push campaign
// concentrates many mildly odd profiles on one target, which no single
// profile's score shows; a genuine favourite's fans average out near 0.
// The sums are then robust-z-scored over the items, since raters of one
// item share more than chance (a niche film's fans are all hard to
// predict). Items with fewer than FocusMin such raters score 0.
func itemFocus(rep *ProfileReport, m *ratingMatrix, cfg ProfileConfig) []float64 {
	focus := make([]float64, len(m.items))
	counted := make([]bool, len(m.items))
	var scored []float64
	for it, col := range m.byItem {
		var sum float64
		n := 0
		for _, c := range col {
			if p := &rep.Profiles[c.idx]; c.val == float32(cfg.MaxRating) && p.Ratings >= cfg.MinProfile {
				sum += p.Score
				n++
			}
		}
		if n >= cfg.FocusMin {
			focus[it], counted[it] = sum/math.Sqrt(float64(n)), true
			scored = append(scored, focus[it])
		}
	}
	center, spread := robustScale(scored)
	for it := range focus {
		if counted[it] {
			focus[it] = (focus[it] - center) / spread
		}
	}
	return focus
}
