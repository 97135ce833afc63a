package anomaly

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSignatureAlertsAtThresholds(t *testing.T) {
	s := NewSignature(SignatureConfig{Window: time.Minute, Critical: 20})
	var sevs []Severity
	for i := range 25 {
		d := s.Observe(Rejection{Time: t0.Add(time.Duration(i) * time.Second), Topic: "movielog",
			PID: "p1", KID: "k1", Reason: "bad_signature"})
		if d.Action != ActionNone {
			t.Fatalf("signature decision acts: %+v", d)
		}
		if d.Alert != nil {
			sevs = append(sevs, d.Alert.Severity)
			if d.Alert.Kind != KindSignature || d.Alert.Evidence["pid"] != "p1" || d.Alert.Evidence["kid"] != "k1" {
				t.Errorf("alert %+v", d.Alert)
			}
		}
	}
	if len(sevs) != 2 || sevs[0] != SeverityWarning || sevs[1] != SeverityCritical {
		t.Fatalf("alerts %v, want warning at the first, critical at the 20th", sevs)
	}
	d := s.Observe(Rejection{Time: t0.Add(2 * time.Minute), PID: "p1", KID: "k1", Reason: "replay"})
	if d.Alert == nil || d.Alert.Evidence["rejections"] != 1 {
		t.Errorf("new window did not alert afresh: %+v", d.Alert)
	}
}

func TestSignatureBudgetAndBounds(t *testing.T) {
	s := NewSignature(SignatureConfig{Window: time.Minute, AlertBudget: 20, MaxProducers: 50})
	alerts := 0
	for i := range 100 { // a forger writing a new pid on every record
		if d := s.Observe(Rejection{Time: t0, PID: fmt.Sprint("forged", i), KID: "k"}); d.Alert != nil {
			alerts++
		}
	}
	if alerts != 20 || len(s.producers) > 51 {
		t.Fatalf("%d alerts (budget 20), %d producers tracked (cap 50)", alerts, len(s.producers))
	}
	d := s.Observe(Rejection{Time: t0.Add(time.Minute), PID: "next", KID: "k"})
	// 52 alerts were due: 50 pids, then "(other)" at its first and its 20th
	// (critical) rejection; 20 went out.
	if d.Alert == nil || d.Alert.Evidence["suppressed"] != 32 {
		t.Errorf("next window's alert does not report the 32 suppressed: %+v", d.Alert)
	}
}

func TestSignatureCleansHeaders(t *testing.T) {
	s := NewSignature(SignatureConfig{})
	d := s.Observe(Rejection{Time: t0, PID: strings.Repeat("x", 500) + "\xff", KID: ""})
	if d.Alert == nil {
		t.Fatal("no alert")
	}
	pid := d.Alert.Evidence["pid"].(string)
	if len(pid) > maxHeaderText || d.Alert.Evidence["kid"] != "(none)" || d.Alert.Validate() != nil {
		t.Errorf("header text not bounded: pid %d bytes, kid %v", len(pid), d.Alert.Evidence["kid"])
	}
}
