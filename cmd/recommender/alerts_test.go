package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/recommender"
)

func TestModelRefusedAlert(t *testing.T) {
	hub := anomaly.NewHub(anomaly.HubConfig{})
	defer hub.Close(context.Background())
	s := &signatureAlerts{hub: hub, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.modelRefused(recommender.FeedbackDecision{Time: time.Now(), Current: "als-1", Candidate: "als-2",
		Refused: []string{"gender_gap", "coverage"}, Reason: "gender nDCG gap widened by 0.09 (limit 0.05)"})
	alerts := hub.Recent(0)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	if a.Kind != anomaly.KindModel || a.Subject != "als-2" || a.Action != anomaly.ActionNone ||
		a.Evidence["refused"] != "gender_gap,coverage" || a.Evidence["current"] != "als-1" {
		t.Errorf("alert %+v", a)
	}
}
