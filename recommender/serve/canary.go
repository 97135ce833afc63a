package serve

import (
	"hash/fnv"
	"math"
	"strings"

	"github.com/reelguard/reelguard/recommender"
)

// CanaryConfig routes a fixed share of users to a candidate model, as a
// weighted Traefik service would, but sticky: a user's arm depends only on a
// hash of their id, so the same user meets the same model on every request,
// across restarts and reloads, and on every replica.
type CanaryConfig struct {
	// Dir is the candidate's model root or version folder; the Reloader
	// loads it (and reloads it when it changes) like the main model. Empty:
	// no canary.
	Dir string
	// Share of users served by the canary, 0..1 in steps of 1/CanaryBuckets
	// (rounded); default 0. Values outside 0..1 are clamped (cmd/ refuses
	// them first).
	Share float64
}

// The two arms an answer can come from, as named in metrics and logs.
const (
	ArmMain   = "main"
	ArmCanary = "canary"
)

// CanaryBuckets is how many buckets user ids hash into: Share picks the
// first round(Share*CanaryBuckets) of them.
const CanaryBuckets = 10000

// canarySalt separates the canary's hash from every other use of user ids.
// It is fixed, so assignment survives restarts; changing it reshuffles users.
const canarySalt = "reelguard-canary/v1\x00"

// ModelsHeader lists the versions being served, main first then the canary
// (comma-separated): the same on every answer while neither changes, so a
// cache downstream can tell a model change from the two arms alternating.
const ModelsHeader = "X-Reelguard-Models"

// CanaryBucket is user's bucket, 0..CanaryBuckets-1: FNV-1a (64 bit) of the
// salted id, modulo CanaryBuckets.
func CanaryBucket(user string) int {
	h := fnv.New64a()
	_, _ = h.Write([]byte(canarySalt)) // a hash.Hash never fails to write
	_, _ = h.Write([]byte(user))
	return int(h.Sum64() % CanaryBuckets)
}

// InCanary reports whether share routes user to the canary.
func InCanary(user string, share float64) bool {
	return CanaryBucket(user) < canaryCut(share)
}

// canaryCut turns a share into a bucket count; NaN and negatives are 0.
func canaryCut(share float64) int {
	if !(share > 0) {
		return 0
	}
	return int(math.Round(math.Min(share, 1) * CanaryBuckets))
}

// SwapCanary serves m as the canary from the next request on and returns
// the canary it replaces; nil stops the canary (everyone gets the main model).
func (h *Handler) SwapCanary(m *recommender.Model) *recommender.Model {
	return h.storeArm(&h.canary, ArmCanary, m)
}

// Canary returns the canary model, nil when none is loaded.
func (h *Handler) Canary() *recommender.Model {
	if s := h.canary.Load(); s != nil {
		return s.model
	}
	return nil
}

// CanaryDir is the canary folder from Config, empty when none.
func (h *Handler) CanaryDir() string { return h.canaryDir }

// pick returns what serves user: the canary when the user's bucket is in
// the canary's share and a canary is loaded, else the main model (so a
// canary that failed to load sends its users to main, never to an error).
func (h *Handler) pick(user string) *served {
	if h.canaryCut > 0 && CanaryBucket(user) < h.canaryCut {
		if s := h.canary.Load(); s != nil && s.model != nil {
			return s
		}
	}
	return h.current.Load()
}

// liveVersions is the ModelsHeader value: the canary counts only when it
// serves a share.
func (h *Handler) liveVersions() *string {
	var v []string
	slots := []*served{h.current.Load()}
	if h.canaryCut > 0 {
		slots = append(slots, h.canary.Load())
	}
	for _, slot := range slots {
		if slot != nil && slot.model != nil {
			v = append(v, slot.model.Version())
		}
	}
	s := strings.Join(v, ",")
	return &s
}
