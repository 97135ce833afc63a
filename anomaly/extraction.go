package anomaly

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// Roles the extraction detector tells apart (DESIGN.md's roles).
const (
	RoleUser    = "user"
	RoleService = "service"
)

// ExtractionConfig sets the extraction detector's thresholds. The zero value
// works; each field's comment gives its default.
type ExtractionConfig struct {
	// Window is the sliding window over which distinct targets are counted.
	// Default 1 minute.
	Window time.Duration
	// UserMaxOthers: a "user" principal touching more distinct other users
	// than this in a window is flagged (policy forbids even one). Default 3.
	UserMaxOthers int
	// OtherMaxDistinct applies to roles other than user and service.
	// Default 20.
	OtherMaxDistinct int
	// ServiceMinDistinct is a service's threshold before (and the floor
	// under) its learned baseline. Default 1500 per window.
	ServiceMinDistinct int
	// ServiceBaselineFactor: a service is flagged above this many times its
	// baseline (an EWMA of its distinct targets per window, learned only
	// while it is not flagged). Default 3.
	ServiceBaselineFactor float64
	// HardMaxDistinct flags any principal whatever its baseline, so a slowly
	// rising baseline cannot hide a scraper. Default 20000.
	HardMaxDistinct int
	// SevereFactor: distinct targets above threshold × SevereFactor block at
	// once. Default 4.
	SevereFactor float64
	// StrideRun flags this many consecutive numeric targets with the same
	// small non-zero stride (sequential enumeration). Default 50; negative
	// turns it off.
	StrideRun int
	// MaxStride is the largest |stride| StrideRun counts. Default 16.
	MaxStride int64
	// NewTargetsPerSecond flags a principal asking for more new targets
	// (users not yet in its window) a second than this over RateHorizon;
	// for a service, or ServiceBaselineFactor times its baseline's rate
	// when higher. Default ServiceMinDistinct per RateHorizon (150/s with
	// the defaults: a burst the distinct count would flag anyway, until a
	// service's baseline lifts its distinct threshold toward
	// HardMaxDistinct; the rate then still catches bursts). Lower it to
	// flag fast scrapers sooner; negative turns it off.
	NewTargetsPerSecond float64
	// RateHorizon is the span the new-target rate is measured over.
	// Default 10 seconds.
	RateHorizon time.Duration
	// RankTau flags |Kendall's tau| at or above this between the last
	// RankSample new numeric targets and their arrival order: ids walked
	// in order, whatever the gaps or strides. Random order gives |tau|
	// about 0.09 (one standard deviation) over 64 ids. Default 0.7;
	// negative turns it off.
	RankTau float64
	// RankSample is how many new numeric targets tau is taken over.
	// Default 64, at most 64.
	RankSample int
	// InactiveShare flags a principal when this share or more of its last
	// InactiveSample new targets had no event in the activity set's TTL
	// (a front end asks for users watching now; a scraper for everyone).
	// Judged only while the activity set is Ready. Default 0.8 (a stolen
	// token's legitimate reads of active users dilute the attacker's
	// share); negative turns it off.
	InactiveShare float64
	// InactiveSample is how many new targets the share is taken over.
	// Default 100, at most 128.
	InactiveSample int
	// Population is the number of users, for coverage. Default 0: the
	// users active now, per the activity set (when Ready).
	Population int
	// CoverageMax flags a principal whose distinct targets in a window
	// exceed this share of Population: above 1 with the activity set's
	// population, it asked for more users than are active. Default 1;
	// negative turns it off.
	CoverageMax float64
	// CoverageMinPopulation: coverage is not judged against a smaller
	// population. Default 100.
	CoverageMinPopulation int
	// FirstAction answers a first detection. Default degraded.
	FirstAction Action
	// EscalateAfter: a flagged principal still over its threshold this long
	// after the first detection is blocked. Default 2 minutes.
	EscalateAfter time.Duration
	// BlockAfter: the detection (offence) that blocks; earlier ones get
	// FirstAction. Default 2.
	BlockAfter int
	// FlagTTL: a flag lasts this long after the last evidence. Default 10 minutes.
	FlagTTL time.Duration
	// BlockTTL is the base TTL asked of the block list. Default 0: its BaseTTL.
	BlockTTL time.Duration
	// SetCap bounds each principal's set of distinct targets (the count
	// saturates there). Default 50000.
	SetCap int
	// MaxPrincipals bounds the principals tracked. Default 100000.
	MaxPrincipals int
}

func (c ExtractionConfig) withDefaults() ExtractionConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.UserMaxOthers, 3)
	def(&c.OtherMaxDistinct, 20)
	def(&c.ServiceMinDistinct, 1500)
	def(&c.HardMaxDistinct, 20000)
	if c.StrideRun == 0 {
		c.StrideRun = 50
	}
	def(&c.BlockAfter, 2)
	def(&c.SetCap, 50000)
	def(&c.MaxPrincipals, 100000)
	if c.Window <= 0 {
		c.Window = time.Minute
	}
	if c.ServiceBaselineFactor <= 0 {
		c.ServiceBaselineFactor = 3
	}
	if c.SevereFactor <= 0 {
		c.SevereFactor = 4
	}
	if c.MaxStride <= 0 {
		c.MaxStride = 16
	}
	c.signalDefaults()
	if c.FirstAction == "" {
		c.FirstAction = ActionDegraded
	}
	if c.EscalateAfter <= 0 {
		c.EscalateAfter = 2 * time.Minute
	}
	if c.FlagTTL <= 0 {
		c.FlagTTL = 10 * time.Minute
	}
	return c
}

// signalDefaults fills in the defaults of the new-target signals.
func (c *ExtractionConfig) signalDefaults() {
	if c.RateHorizon <= 0 {
		c.RateHorizon = 10 * time.Second
	}
	if c.NewTargetsPerSecond == 0 {
		c.NewTargetsPerSecond = float64(c.ServiceMinDistinct) / c.RateHorizon.Seconds()
	}
	if c.RankTau == 0 {
		c.RankTau = 0.7
	}
	if c.RankSample <= 0 || c.RankSample > maxRankSample {
		c.RankSample = maxRankSample
	}
	if c.InactiveShare == 0 {
		c.InactiveShare = 0.8
	}
	if c.InactiveSample <= 0 || c.InactiveSample > maxInactiveSample {
		c.InactiveSample = 100
	}
	if c.CoverageMax == 0 {
		c.CoverageMax = 1
	}
	if c.CoverageMinPopulation <= 0 {
		c.CoverageMinPopulation = 100
	}
}

// Validate reports a configuration that cannot work.
func (c ExtractionConfig) Validate() error {
	c = c.withDefaults()
	if !c.FirstAction.Valid() {
		return fmt.Errorf("%w: extraction first action %q", ErrInvalidConfig, c.FirstAction)
	}
	if c.SetCap < c.HardMaxDistinct {
		return fmt.Errorf("%w: extraction set cap %d below the hard maximum %d",
			ErrInvalidConfig, c.SetCap, c.HardMaxDistinct)
	}
	return nil
}

// RecRequest is one GET /recommend/{userid} as the gateway saw it, after
// authentication and before proxying.
type RecRequest struct {
	Time      time.Time
	Principal string // the token's subject
	Role      string
	IP        netip.Addr
	Target    string // the {userid} asked for
	// SharedDistinct is the principal's distinct targets over all replicas,
	// as the shared counter (a HyperLogLog in Redis) reported after counting
	// this request; 0 when there is none. The detector judges the larger of
	// it and its own exact count, so a scraper spreading its requests over
	// replicas is flagged as soon as on one.
	SharedDistinct int64
}

// extractionShards spreads principals over locks, so the request path does
// not serialise on one mutex.
const extractionShards = 32

// Extraction watches principals reading many users' recommendations. A
// principal reading its own never counts. Safe for concurrent use.
type Extraction struct {
	cfg    ExtractionConfig
	seed   maphash.Seed
	shards [extractionShards]extractionShard
	// activity, when set, tells active users from the others (the
	// inactive-share and coverage signals); nil: those are not judged.
	activity *Activity
}

type extractionShard struct {
	mu sync.Mutex
	m  map[string]*principalState
}

// NewExtraction returns a detector; an invalid cfg is an ErrInvalidConfig.
func NewExtraction(cfg ExtractionConfig) (*Extraction, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Extraction{cfg: cfg.withDefaults(), seed: maphash.MakeSeed()}
	for i := range e.shards {
		e.shards[i].m = make(map[string]*principalState)
	}
	return e, nil
}

// UseActivity has the detector judge targets against a (the Monitor does
// this). Call it before the first Observe.
func (e *Extraction) UseActivity(a *Activity) { e.activity = a }

// Window is the sliding window over which distinct targets are counted.
func (e *Extraction) Window() time.Duration { return e.cfg.Window }

func (e *Extraction) shard(principal string) *extractionShard {
	return &e.shards[maphash.String(e.seed, principal)%extractionShards]
}

// Observe counts r and returns what to do about its principal. Reading
// one's own recommendations (Target equal to Principal) is not counted and
// gets the zero Decision.
func (e *Extraction) Observe(r RecRequest) Decision {
	if r.Target == "" || r.Target == r.Principal {
		return Decision{Action: ActionNone}
	}
	sh := e.shard(r.Principal)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.m[r.Principal]
	if st == nil {
		e.makeRoom(sh, r.Time)
		st = newPrincipalState(r.Time)
		sh.m[r.Principal] = st
	}
	st.observe(r, &e.cfg, e.activity)
	return e.judge(st, r)
}

// flagged reports the principal's current action and score (0 when unknown).
func (e *Extraction) flagged(principal string, now time.Time) (Action, float64) {
	sh := e.shard(principal)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.m[principal]
	if st == nil {
		return ActionNone, 0
	}
	return st.current(now), st.score
}

// makeRoom drops idle principals when the shard is full (then any
// unflagged one). Called with the shard's lock held.
func (e *Extraction) makeRoom(sh *extractionShard, now time.Time) {
	if len(sh.m) < max(e.cfg.MaxPrincipals/extractionShards, 1) {
		return
	}
	for k, st := range sh.m {
		if now.Sub(st.last) > e.cfg.Window && st.current(now) == ActionNone {
			delete(sh.m, k)
		}
	}
	for k, st := range sh.m {
		if len(sh.m) < max(e.cfg.MaxPrincipals/extractionShards, 1) {
			return
		}
		if st.current(now) == ActionNone {
			delete(sh.m, k)
		}
	}
}
