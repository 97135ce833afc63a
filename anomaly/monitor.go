package anomaly

import (
	"fmt"
	"math"
	"net/netip"
	"time"
)

// Config gathers the detectors' settings, as a config file's "anomaly"
// section. The zero value works.
type Config struct {
	Extraction ExtractionConfig
	DoS        DoSConfig
	Signature  SignatureConfig
	Poisoning  PoisoningConfig
	// Activity bounds the set of users active in the movielog stream,
	// which the extraction detector judges targets against.
	Activity ActivityConfig
	// Shadow makes every detector report without acting: decisions carry
	// their alerts (action none, the would-be action in evidence
	// "shadow_action") but no action and no block.
	Shadow bool
	// Now is the clock Suspicion reads. Default time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults spelled out.
func DefaultConfig() Config {
	return Config{
		Extraction: ExtractionConfig{}.withDefaults(),
		DoS:        DoSConfig{}.withDefaults(),
		Signature:  SignatureConfig{}.withDefaults(),
		Poisoning:  PoisoningConfig{}.withDefaults(),
		Activity:   ActivityConfig{}.withDefaults(),
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	for _, err := range []error{c.Extraction.Validate(), c.DoS.Validate(), c.Poisoning.Validate()} {
		if err != nil {
			return err
		}
	}
	return nil
}

// Monitor holds the four detectors and answers the policy's suspicion
// question. Safe for concurrent use.
type Monitor struct {
	Extraction *Extraction
	DoS        *DoS
	Signature  *Signature
	Poisoning  *Poisoning
	// Traffic counts each principal's requests for the dashboard.
	Traffic *Traffic
	// Activity is the set of users active in the verified movielog
	// stream; whoever consumes the stream feeds it (cmd/gateway does).
	// Empty, the extraction detector does not judge activity.
	Activity *Activity

	shadow bool
	now    func() time.Time
}

// NewMonitor builds the detectors from cfg.
func NewMonitor(cfg Config) (*Monitor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("anomaly monitor: %w", err)
	}
	m := &Monitor{Signature: NewSignature(cfg.Signature), Traffic: NewTraffic(0), shadow: cfg.Shadow, now: cfg.Now}
	var err error
	if m.Extraction, err = NewExtraction(cfg.Extraction); err != nil {
		return nil, err
	}
	m.Activity = NewActivity(cfg.Activity)
	m.Extraction.UseActivity(m.Activity)
	if m.DoS, err = NewDoS(cfg.DoS); err != nil {
		return nil, err
	}
	if m.Poisoning, err = NewPoisoning(cfg.Poisoning); err != nil {
		return nil, err
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

// ObserveRequest feeds the extraction detector (before proxying).
func (m *Monitor) ObserveRequest(r RecRequest) Decision {
	return m.shadowed(m.Extraction.Observe(r))
}

// ObserveHit feeds the flood detector's per-source judgement (once the
// status is known).
func (m *Monitor) ObserveHit(h Hit) Decision { return m.shadowed(m.DoS.Observe(h)) }

// ObserveRoute feeds the flood detector's per-route baselines (any
// answered request, authenticated or not).
func (m *Monitor) ObserveRoute(h Hit) Decision { return m.shadowed(m.DoS.ObserveRoute(h)) }

// Now reads the monitor's clock (Config.Now), for callers that stamp the
// events they feed it.
func (m *Monitor) Now() time.Time { return m.now() }

// ObserveRejection feeds the signature detector.
func (m *Monitor) ObserveRejection(r Rejection) Decision { return m.Signature.Observe(r) }

// ObserveRating feeds the poisoning detector.
func (m *Monitor) ObserveRating(r Rating) Verdict { return m.Poisoning.Observe(r) }

// ObserveAccount feeds the poisoning detector a create_account event.
func (m *Monitor) ObserveAccount(a Account) { m.Poisoning.ObserveAccount(a) }

// ObserveWatch feeds the poisoning detector a watch event.
func (m *Monitor) ObserveWatch(w Watch) { m.Poisoning.ObserveWatch(w) }

// shadowed strips the action and block from d in shadow mode.
func (m *Monitor) shadowed(d Decision) Decision {
	if !m.shadow {
		return d
	}
	if d.Alert != nil {
		a := d.Alert.clone()
		a.Evidence["shadow_action"] = string(a.Action)
		a.Action = ActionNone
		d.Alert = &a
	}
	return Decision{Action: ActionNone, Alert: d.Alert}
}

// Suspicion is the policy input's "suspicion" object for a principal and
// client address: {"extraction": bool, "dos": bool, "score": float}, the
// score in [0, 1] being the nearer either detector is to its threshold,
// rounded to hundredths. Two map lookups; in shadow mode the flags stay
// false.
//
// The rounding keeps policy decisions cacheable: the policy engine memoizes
// decisions by their whole input, and a score that moved with every request
// of a busy source (its rate over the window) made each input new, so OPA
// evaluated every request again (a third more gateway CPU per request under
// h2load once the source's score had risen).
func (m *Monitor) Suspicion(principal string, ip netip.Addr) map[string]any {
	now := m.now()
	ea, es := m.Extraction.flagged(principal, now)
	da, ds := m.DoS.flagged(ip, now)
	return map[string]any{
		"extraction": !m.shadow && ea != ActionNone,
		"dos":        !m.shadow && da != ActionNone,
		"score":      math.Round(max(es, ds)*100) / 100,
	}
}
