package anomaly

import (
	"strings"
	"sync"
	"time"
)

// SignatureConfig sets when rejected Kafka records raise alerts. The zero
// value works; each field's comment gives its default.
type SignatureConfig struct {
	// Window over which rejections of one producer are counted. Default 5 minutes.
	Window time.Duration
	// Threshold rejections of one (pid, kid) in a window raise a warning.
	// Default 1: a signed stream has no honest failures.
	Threshold int
	// Critical rejections of one (pid, kid) in a window raise a critical
	// alert. Default 20.
	Critical int
	// AlertBudget bounds the alerts per window over all producers, since
	// pid and kid are whatever a forger writes; the rest are counted and
	// reported as "suppressed" in the next alert. Default 20.
	AlertBudget int
	// MaxProducers bounds the (pid, kid) pairs tracked; the rest are counted
	// under pid "(other)". Default 10000.
	MaxProducers int
}

func (c SignatureConfig) withDefaults() SignatureConfig {
	if c.Window <= 0 {
		c.Window = 5 * time.Minute
	}
	if c.Threshold <= 0 {
		c.Threshold = 1
	}
	if c.Critical <= 0 {
		c.Critical = 20
	}
	if c.AlertBudget <= 0 {
		c.AlertBudget = 20
	}
	if c.MaxProducers <= 0 {
		c.MaxProducers = 10000
	}
	return c
}

// Rejection is one Kafka record that failed verification (the events
// package's verifier says why: unknown_kid, bad_signature, replay, skew...).
type Rejection struct {
	Time   time.Time
	Topic  string
	PID    string // sig-pid header as received
	KID    string // sig-kid header as received
	Reason string
}

// maxHeaderText bounds the attacker-written header text kept and reported.
const maxHeaderText = 64

type producerKey struct{ pid, kid string }

type producerState struct {
	start   time.Time
	count   int
	topics  map[string]int
	reasons map[string]int
}

// Signature counts rejected records per producer (pid, kid) and raises
// rate-limited alerts. Safe for concurrent use.
type Signature struct {
	cfg SignatureConfig

	mu          sync.Mutex
	producers   map[producerKey]*producerState
	budgetStart time.Time
	budgetUsed  int
	suppressed  int
}

// NewSignature returns a detector.
func NewSignature(cfg SignatureConfig) *Signature {
	return &Signature{cfg: cfg.withDefaults(), producers: make(map[producerKey]*producerState)}
}

// Observe counts r; the Decision carries an alert when the producer's count
// reaches Threshold or Critical in its window. Action is always none: the
// record is already rejected.
func (s *Signature) Observe(r Rejection) Decision {
	key := producerKey{cleanHeader(r.PID), cleanHeader(r.KID)}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state(key, r.Time)
	if r.Time.Sub(st.start) >= s.cfg.Window {
		*st = producerState{start: r.Time, topics: map[string]int{}, reasons: map[string]int{}}
	}
	st.count++
	bumpBounded(st.topics, cleanHeader(r.Topic))
	bumpBounded(st.reasons, cleanHeader(r.Reason))
	if st.count != s.cfg.Threshold && st.count != s.cfg.Critical {
		return Decision{Action: ActionNone}
	}
	if !s.spend(r.Time) {
		return Decision{Action: ActionNone}
	}
	return Decision{Action: ActionNone, Alert: s.alert(key, st, r.Time)}
}

// state returns key's counts, folding new producers into "(other)" when full.
func (s *Signature) state(key producerKey, now time.Time) *producerState {
	if st := s.producers[key]; st != nil {
		return st
	}
	if len(s.producers) >= s.cfg.MaxProducers {
		for k, st := range s.producers {
			if now.Sub(st.start) >= s.cfg.Window {
				delete(s.producers, k)
			}
		}
	}
	if len(s.producers) >= s.cfg.MaxProducers {
		key = producerKey{"(other)", "(other)"}
		if st := s.producers[key]; st != nil {
			return st
		}
	}
	st := &producerState{start: now, topics: map[string]int{}, reasons: map[string]int{}}
	s.producers[key] = st
	return st
}

// spend takes one alert from the window's budget, counting refusals.
func (s *Signature) spend(now time.Time) bool {
	if now.Sub(s.budgetStart) >= s.cfg.Window {
		s.budgetStart, s.budgetUsed = now, 0
	}
	if s.budgetUsed >= s.cfg.AlertBudget {
		s.suppressed++
		return false
	}
	s.budgetUsed++
	return true
}

func (s *Signature) alert(key producerKey, st *producerState, now time.Time) *Alert {
	sev := SeverityWarning
	if st.count >= s.cfg.Critical {
		sev = SeverityCritical
	}
	ev := map[string]any{"pid": key.pid, "kid": key.kid, "rejections": st.count,
		"topics": copyCounts(st.topics), "reasons": copyCounts(st.reasons),
		"window_seconds": s.cfg.Window.Seconds()}
	if s.suppressed > 0 {
		ev["suppressed"] = s.suppressed
		s.suppressed = 0
	}
	return &Alert{Time: now, Kind: KindSignature, Severity: sev,
		Subject: "producer " + key.pid, Action: ActionNone, Evidence: ev}
}

// cleanHeader bounds and sanitises header text before it is kept or shown.
func cleanHeader(s string) string {
	s = strings.ToValidUTF8(truncate(s, maxHeaderText), "?")
	if s == "" {
		return "(none)"
	}
	return s
}

// bumpBounded counts k, lumping keys past the eighth under "(other)".
func bumpBounded(m map[string]int, k string) {
	if _, ok := m[k]; !ok && len(m) >= 8 {
		k = "(other)"
	}
	m[k]++
}

func copyCounts(m map[string]int) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
