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

	epochStart time.Time
	epochPeak  int
	baseline   float64 // EWMA of distinct targets per window; 0 until learned

	lastID int64
	haveID bool
	stride int64
	run    int

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
func (st *principalState) observe(r RecRequest, cfg *ExtractionConfig) {
	now := r.Time
	st.last, st.role = now, r.Role
	st.expire(now, cfg.Window)
	st.rollEpoch(now, cfg)
	if at, seen := st.targets[r.Target]; !seen {
		if len(st.targets) < cfg.SetCap {
			st.targets[r.Target] = now
			st.queue = append(st.queue, targetEntry{r.Target, now})
		}
	} else if now.Sub(at) > cfg.Window/4 {
		st.targets[r.Target] = now
		st.queue = append(st.queue, targetEntry{r.Target, now})
	}
	st.requests.add(now, cfg.Window/windowBuckets, false)
	st.epochPeak = max(st.epochPeak, len(st.targets))
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

// countStride tracks runs of numeric targets with one small constant stride.
func (st *principalState) countStride(target string, maxStride int64) {
	id, err := strconv.ParseInt(target, 10, 64)
	if err != nil {
		st.haveID, st.run = false, 0
		return
	}
	d := id - st.lastID
	switch {
	case !st.haveID:
		st.run = 1
	case d != 0 && d == st.stride && d <= maxStride && d >= -maxStride:
		st.run++
	default:
		st.stride, st.run = d, 2
		if d == 0 || d > maxStride || d < -maxStride {
			st.run = 1
		}
	}
	st.lastID, st.haveID = id, true
}

// reset forgets the counts after a block: the block list is in charge now,
// and a principal coming back must show the evidence again.
func (st *principalState) reset() {
	clear(st.targets)
	st.queue, st.head = st.queue[:0], 0
	st.requests = window{}
	st.run, st.haveID = 0, false
	st.action, st.flagUntil, st.score = ActionNone, time.Time{}, 0
}
