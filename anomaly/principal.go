package anomaly

import (
	"strconv"
	"time"
)

// offenceMemory is how long the extraction detector remembers a principal's
// earlier detections when deciding whether the next one blocks.
const offenceMemory = 24 * time.Hour

// targetEntry is one queued sighting of a target, for expiry.
type targetEntry struct {
	target string
	at     time.Time
}

// principalState is what the extraction detector knows about a principal.
type principalState struct {
	role string
	last time.Time

	// targets maps each distinct target in the window to the time of its
	// newest entry in queue; queue[head:] is oldest first. A target seen
	// again is re-queued at most every window/4, so the queue stays near
	// the distinct count, and a target leaves at most window/4 early.
	targets  map[string]time.Time
	queue    []targetEntry
	head     int
	requests window
	// distinct is the count judged: the exact local one, or the shared
	// one when larger.
	distinct int

	epochStart time.Time
	epochPeak  int
	baseline   float64 // EWMA of distinct targets per window; 0 until learned

	// runs are the enumerations in progress; run is the longest's length.
	runs [strideRuns]strideRun
	run  int
	// sig holds the new-target signals (extraction_signals.go).
	sig signals

	action      Action
	flaggedAt   time.Time
	flagUntil   time.Time
	offences    int
	lastOffence time.Time
	score       float64
}

func newPrincipalState(now time.Time) *principalState {
	return &principalState{targets: make(map[string]time.Time), epochStart: now}
}

// current is the principal's action at now: its flag's until the flag ends.
func (st *principalState) current(now time.Time) Action {
	if st.action != "" && now.Before(st.flagUntil) {
		return st.action
	}
	return ActionNone
}

// observe counts one request for another user's recommendations.
func (st *principalState) observe(r RecRequest, cfg *ExtractionConfig, act *Activity) {
	now := r.Time
	st.last, st.role = now, r.Role
	st.expire(now, cfg.Window)
	st.sig.expire(now, cfg.Window)
	st.rollEpoch(now, cfg)
	if at, seen := st.targets[r.Target]; !seen {
		st.sig.observeNew(r.Target, now, cfg, act)
		if len(st.targets) < cfg.SetCap {
			st.targets[r.Target] = now
			st.queue = append(st.queue, targetEntry{r.Target, now})
		}
	} else if now.Sub(at) > cfg.Window/4 {
		st.targets[r.Target] = now
		st.queue = append(st.queue, targetEntry{r.Target, now})
	}
	st.requests.add(now, cfg.Window/windowBuckets, false)
	st.distinct = len(st.targets)
	if r.SharedDistinct > int64(st.distinct) {
		st.distinct = int(min(r.SharedDistinct, int64(cfg.SetCap)))
	}
	st.epochPeak = max(st.epochPeak, st.distinct)
	st.countStride(r.Target, cfg.MaxStride)
}

// expire drops the targets last queued a window or more ago.
func (st *principalState) expire(now time.Time, win time.Duration) {
	for st.head < len(st.queue) && now.Sub(st.queue[st.head].at) >= win {
		e := st.queue[st.head]
		if st.targets[e.target].Equal(e.at) {
			delete(st.targets, e.target)
		}
		st.queue[st.head] = targetEntry{}
		st.head++
	}
	if st.head > 64 && st.head*2 > len(st.queue) {
		st.queue = append(st.queue[:0], st.queue[st.head:]...)
		st.head = 0
	}
}

// rollEpoch learns the baseline once per window, and only from windows in
// which the principal was neither flagged nor over its threshold.
func (st *principalState) rollEpoch(now time.Time, cfg *ExtractionConfig) {
	if now.Sub(st.epochStart) < cfg.Window {
		return
	}
	sample := float64(st.epochPeak)
	if st.current(now) == ActionNone && st.epochPeak <= st.threshold(cfg) {
		if st.baseline == 0 {
			st.baseline = sample
		} else {
			st.baseline = 0.2*sample + 0.8*st.baseline
		}
	}
	st.epochStart, st.epochPeak = now, len(st.targets)
}

// threshold is the distinct-target count above which the principal is flagged.
func (st *principalState) threshold(cfg *ExtractionConfig) int {
	var t int
	switch st.role {
	case RoleUser:
		t = cfg.UserMaxOthers
	case RoleService:
		t = max(cfg.ServiceMinDistinct, int(cfg.ServiceBaselineFactor*st.baseline))
	default:
		t = cfg.OtherMaxDistinct
	}
	return min(t, cfg.HardMaxDistinct)
}

// rateThreshold is the new targets a second above which the principal is
// flagged: for a service, its baseline's rate times ServiceBaselineFactor
// when that is higher.
func (st *principalState) rateThreshold(cfg *ExtractionConfig) float64 {
	t := cfg.NewTargetsPerSecond
	if st.role == RoleService {
		t = max(t, cfg.ServiceBaselineFactor*st.baseline/cfg.Window.Seconds())
	}
	return t
}

// strideRuns is how many interleaved enumerations one principal is
// followed in at once: a scraper sharing a stolen token with the real front
// end, or walking several ranges, still shows its runs.
const strideRuns = 8

// strideStale: a run not continued by any of the principal's last this many
// numeric targets has ended.
const strideStale = 256

// strideRun is one sequence of numeric targets with a constant stride.
type strideRun struct {
	last   int64
	stride int64 // 0 until the run has two ids
	n      int   // ids in the run; 0 for an unused slot
	seen   uint64
}

// countStride extends the run that id continues (the next id at the run's
// small non-zero stride, or any small step from a run of one), or starts a
// new run in the slot of the shortest, least recent one.
func (st *principalState) countStride(target string, maxStride int64) {
	id, err := strconv.ParseInt(target, 10, 64)
	if err != nil {
		return
	}
	var tick uint64
	for i := range st.runs {
		tick = max(tick, st.runs[i].seen)
	}
	tick++
	live := func(r *strideRun) int {
		if tick-r.seen > strideStale {
			return 0
		}
		return r.n
	}
	weakest, extended := 0, false
	for i := range st.runs {
		r := &st.runs[i]
		d := id - r.last
		if live(r) > 0 && d != 0 && d <= maxStride && d >= -maxStride && (r.n == 1 || d == r.stride) {
			r.last, r.stride, r.n, r.seen = id, d, r.n+1, tick
			extended = true
			break
		}
		if w := &st.runs[weakest]; live(r) < live(w) || (live(r) == live(w) && r.seen < w.seen) {
			weakest = i
		}
	}
	if !extended {
		st.runs[weakest] = strideRun{last: id, n: 1, seen: tick}
	}
	st.run = 0
	for i := range st.runs {
		st.run = max(st.run, live(&st.runs[i]))
	}
}

// reset forgets the counts after a block: the block list is in charge now,
// and a principal coming back must show the evidence again.
func (st *principalState) reset() {
	clear(st.targets)
	st.distinct = 0
	st.queue, st.head = st.queue[:0], 0
	st.requests = window{}
	st.run, st.runs = 0, [strideRuns]strideRun{}
	st.sig.reset()
	st.action, st.flagUntil, st.score = ActionNone, time.Time{}, 0
}
