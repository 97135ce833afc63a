package anomaly

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// DoSConfig sets the flood detector's thresholds. The zero value works;
// each field's comment gives its default.
type DoSConfig struct {
	// Window is the sliding window for rates. Default 10 seconds.
	Window time.Duration
	// MinRequests in a window before a source is judged at all. Default 200.
	MinRequests int
	// MaxRate (requests per second over the window) above which a source is
	// flagged. Default 100, twice the pre-auth limit's sustained rate.
	MaxRate float64
	// Max429Ratio: a source whose answers in the window are at least this
	// share of 429s keeps hammering past its limit; flagged. Default 0.5.
	Max429Ratio float64
	// SevereRate blocks at once. Default 1000 per second.
	SevereRate float64
	// FirstAction answers a first detection. Default throttled.
	FirstAction Action
	// EscalateAfter: a source still flagged-worthy this long after its
	// first detection is blocked. Default 30 seconds.
	EscalateAfter time.Duration
	// BlockAfter: the detection that blocks; earlier ones get FirstAction.
	// Default 2.
	BlockAfter int
	// FlagTTL: a flag lasts this long after the last evidence. Default 2 minutes.
	FlagTTL time.Duration
	// IPv6PrefixBits groups IPv6 sources (one host usually owns a /64).
	// Default 64.
	IPv6PrefixBits int
	// BlockTTL is the base TTL asked of the block list. Default 0: its BaseTTL.
	BlockTTL time.Duration
	// MaxSources bounds the sources tracked. Default 100000.
	MaxSources int
	// Baseline tunes the EWMA baselines: per route (ObserveRoute) and per
	// source, beside the fixed thresholds above, which stay as hard
	// ceilings. A source's baseline judges its request rate (only from
	// MinRequests per Window's worth a second) and error rate.
	Baseline BaselineConfig
}

func (c DoSConfig) withDefaults() DoSConfig {
	if c.Window <= 0 {
		c.Window = 10 * time.Second
	}
	if c.MinRequests <= 0 {
		c.MinRequests = 200
	}
	if c.MaxRate <= 0 {
		c.MaxRate = 100
	}
	if c.Max429Ratio <= 0 {
		c.Max429Ratio = 0.5
	}
	if c.SevereRate <= 0 {
		c.SevereRate = 1000
	}
	if c.BlockAfter <= 0 {
		c.BlockAfter = 2
	}
	if c.FirstAction == "" {
		c.FirstAction = ActionThrottled
	}
	if c.EscalateAfter <= 0 {
		c.EscalateAfter = 30 * time.Second
	}
	if c.FlagTTL <= 0 {
		c.FlagTTL = 2 * time.Minute
	}
	if c.IPv6PrefixBits <= 0 || c.IPv6PrefixBits > 128 {
		c.IPv6PrefixBits = 64
	}
	if c.MaxSources <= 0 {
		c.MaxSources = 100000
	}
	c.Baseline = c.Baseline.withDefaults()
	return c
}

// Validate reports a configuration that cannot work.
func (c DoSConfig) Validate() error {
	if err := c.Baseline.Validate(); err != nil {
		return fmt.Errorf("dos: %w", err)
	}
	c = c.withDefaults()
	if !c.FirstAction.Valid() || c.Max429Ratio > 1 || c.Window < windowBuckets {
		return fmt.Errorf("%w: dos first action, 429 ratio or window", ErrInvalidConfig)
	}
	return nil
}

// Hit is one answered request (any route, 429s of the pre-auth limiter
// included) by client address. Requests refused by the block list are not
// fed: while a source is blocked the block list is in charge.
type Hit struct {
	Time   time.Time
	IP     netip.Addr
	Status int
	// Route is the request's route label (the matched pattern, as the
	// gateway's metrics name it); ObserveRoute's series key.
	Route string
	// Latency is how long the answer took.
	Latency time.Duration
}

const dosShards = 32

// DoS watches request rates and 429 ratios per source (an IPv4 address or
// an IPv6 prefix) against fixed thresholds and each source's EWMA baseline
// (Observe), and each route's request rate, error rate and latency against
// the route's baseline (ObserveRoute). Safe for concurrent use.
type DoS struct {
	cfg    DoSConfig
	shards [dosShards]dosShard
	routes routeTable
}

type dosShard struct {
	mu sync.Mutex
	m  map[netip.Prefix]*sourceState
}

type sourceState struct {
	win       window
	last      time.Time
	action    Action
	flaggedAt time.Time
	flagUntil time.Time
	offences  int
	score     float64
	// The source's baselines (request rate, error rate), its open bucket,
	// and its last anomalous reading, evidence until surgeUntil.
	cur           bucketCounts
	rate, errRate EWMA
	surge         Reading
	surgeUntil    time.Time
}

func (s *sourceState) current(now time.Time) Action {
	if s.action != "" && now.Before(s.flagUntil) {
		return s.action
	}
	return ActionNone
}

// NewDoS returns a detector; an invalid cfg is an ErrInvalidConfig.
func NewDoS(cfg DoSConfig) (*DoS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &DoS{cfg: cfg.withDefaults(), routes: routeTable{m: make(map[string]*routeState)}}
	for i := range d.shards {
		d.shards[i].m = make(map[netip.Prefix]*sourceState)
	}
	return d, nil
}

// source is the counting key of ip: the address, or its IPv6 prefix.
func (d *DoS) source(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	bits := ip.BitLen()
	if ip.Is6() {
		bits = d.cfg.IPv6PrefixBits
	}
	p, _ := ip.Prefix(bits) // valid address, bits within range: no error
	return p
}

func (d *DoS) shard(p netip.Prefix) *dosShard {
	a := p.Addr().As16()
	h := binary.LittleEndian.Uint64(a[:8]) ^ binary.LittleEndian.Uint64(a[8:])
	h *= 0x9e3779b97f4a7c15
	return &d.shards[h>>59%dosShards]
}

// Observe counts h and returns what to do about its source: a source over
// a fixed threshold, or whose last bucket was anomalous against its own
// baseline, is flagged, then blocked as it persists or repeats. Feed it
// only traffic whose sources are the flood detector's business (the
// gateway leaves out authenticated principals, whom their tiers limit).
func (d *DoS) Observe(h Hit) Decision {
	if !h.IP.IsValid() {
		return Decision{Action: ActionNone}
	}
	src := d.source(h.IP)
	sh := d.shard(src)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.m[src]
	if st == nil {
		d.makeRoom(sh, h.Time)
		st = &sourceState{}
		sh.m[src] = st
	}
	st.last = h.Time
	st.win.add(h.Time, d.cfg.Window/windowBuckets, h.Status == http.StatusTooManyRequests)
	d.observeSourceBaseline(st, h)
	return d.judge(st, src, h)
}
