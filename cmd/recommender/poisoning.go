package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
)

// poisoningScreen runs the verified movielog events through the poisoning
// detector before they reach training: watches and new accounts are
// evidence, and a rating the detector finds suspicious (a burst, an
// extreme-only or never-watching new profile, one of a coordinated
// campaign, or any later rating of a flagged profile) is left out, counted
// by reason, and its alert raised on security-alerts. Its profiles
// screen then judges whole profiles before each retrain.
type poisoningScreen struct {
	monitor  *anomaly.Monitor
	raise    func(anomaly.Alert) error
	log      *slog.Logger
	profiles *profileScreen // nil: no profile-level screen

	mu       sync.Mutex
	excluded map[string]int64 // by reason
}

// newPoisoningScreen screens with the signature alerts' detectors and hub.
func newPoisoningScreen(alerts *signatureAlerts, log *slog.Logger) *poisoningScreen {
	raise := func(a anomaly.Alert) error {
		_, _, err := alerts.hub.Raise(a)
		return err
	}
	return &poisoningScreen{monitor: alerts.monitor, log: log, excluded: map[string]int64{}, raise: raise,
		profiles: &profileScreen{raise: raise, log: log, now: time.Now}}
}

// admit reports whether ev may go to training.
func (s *poisoningScreen) admit(ev events.Event) bool {
	switch ev.Kind {
	case events.KindCreateAccount:
		s.monitor.ObserveAccount(anomaly.Account{Time: ev.Time, User: ev.User})
	case events.KindWatch:
		s.monitor.ObserveWatch(anomaly.Watch{Time: ev.Time, User: ev.User, Movie: ev.Movie})
	case events.KindRate:
		return s.rating(ev)
	}
	return true
}

func (s *poisoningScreen) rating(ev events.Event) bool {
	v := s.monitor.ObserveRating(anomaly.Rating{Time: ev.Time, User: ev.User, Movie: ev.Movie, Rating: ev.Rating})
	if v.Alert != nil {
		a := *v.Alert
		a.Evidence["excluded_from_training"] = true
		if err := s.raise(a); err != nil {
			s.log.Error("poisoning alert not raised", "err", err)
		}
		s.log.Warn("suspicious ratings left out of training", "reason", v.Reason, "subject", a.Subject)
	}
	if !v.Suspicious {
		return true
	}
	s.mu.Lock()
	s.excluded[v.Reason]++
	s.mu.Unlock()
	return false
}

// Excluded returns the ratings left out of training so far, by reason.
func (s *poisoningScreen) Excluded() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.excluded))
	for k, n := range s.excluded {
		out[k] = n
	}
	return out
}

// screenedFeedbackHandler is feedbackHandler with screen (nil: none) in
// front of training: a rating it refuses is skipped like a line that is no
// interaction, so the offset still advances and the record is never
// retried. A screen with a profile scorer is also handed to fb, which runs
// it over each retrain's training data (recommender.FeedbackConfig's
// ScreenProfiles).
func screenedFeedbackHandler(fb *recommender.Feedback, screen *poisoningScreen) func(context.Context, *kgo.Record) error {
	if screen != nil && screen.profiles != nil {
		fb.SetProfileScreen(screen.profiles.screen)
	}
	return func(_ context.Context, r *kgo.Record) error {
		line := string(r.Value)
		ev, err := events.ParseLine(line)
		interaction := err == nil && (ev.Kind == events.KindWatch || ev.Kind == events.KindRate || ev.Kind == events.KindCreateAccount)
		if interaction && (screen == nil || screen.admit(ev)) {
			return fb.Add(line, r.Partition, r.Offset)
		}
		fb.Skip(r.Partition, r.Offset)
		return nil
	}
}
