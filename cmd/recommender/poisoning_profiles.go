package main

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
)

// maxScreenRatings bounds the ratings one retrain's profile screen keeps
// (about 80 bytes each, so some 400 MB at most): past it, the oldest are
// dropped and the scorer judges the latest, where a fresh campaign sits.
const maxScreenRatings = 5_000_000

// alertUsers is how many flagged user ids an alert names, highest score first.
const alertUsers = 20

// profileScreen is the feedback loop's ScreenProfiles: before each
// retrain it scores every profile of the training data with
// anomaly.ScoreProfiles and leaves out the whole profiles it flags (small
// and patient shilling profiles that the rating-by-rating screen lets
// through), raising one poisoning alert per retrain that excluded any.
type profileScreen struct {
	cfg   anomaly.ProfileConfig
	raise func(anomaly.Alert) error
	log   *slog.Logger
	now   func() time.Time
}

// screen reads course log lines (the training data) and returns the
// flagged users.
func (s *profileScreen) screen(r io.Reader) (map[string]bool, error) {
	ratings, err := readRatings(r, maxScreenRatings)
	if err != nil {
		return nil, fmt.Errorf("profile screen: %w", err)
	}
	rep, err := anomaly.ScoreProfiles(ratings, s.cfg)
	if err != nil {
		return nil, fmt.Errorf("profile screen: %w", err)
	}
	s.log.Info("feedback: profiles screened", "ratings", rep.Ratings, "judged", rep.Judged, "flagged", len(rep.Flagged))
	if len(rep.Flagged) == 0 {
		return nil, nil
	}
	if err := s.raise(s.alert(rep)); err != nil {
		s.log.Error("poisoning alert not raised", "err", err)
	}
	flagged := make(map[string]bool, len(rep.Flagged))
	for _, u := range rep.Flagged {
		flagged[u] = true
	}
	return flagged, nil
}

// alert describes one retrain's exclusions; its subject names the
// retrain's time, so each retrain's alert is news of its own.
func (s *profileScreen) alert(rep anomaly.ProfileReport) anomaly.Alert {
	var flagged []anomaly.ProfileScore
	for _, p := range rep.Profiles {
		if p.Flagged {
			flagged = append(flagged, p)
		}
	}
	slices.SortFunc(flagged, func(a, b anomaly.ProfileScore) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.User, b.User))
	})
	users := make([]string, 0, min(len(flagged), alertUsers))
	for _, p := range flagged[:min(len(flagged), alertUsers)] {
		users = append(users, truncateID(p.User))
	}
	now := s.now().UTC()
	return anomaly.Alert{Time: now, Kind: anomaly.KindPoisoning, Severity: anomaly.SeverityWarning,
		Subject: "training set " + now.Format(time.RFC3339), Action: anomaly.ActionNone,
		Evidence: map[string]any{"reason": "profile_scores", "excluded_from_training": true,
			"excluded_profiles": len(flagged), "judged_profiles": rep.Judged, "ratings": rep.Ratings,
			"users": strings.Join(users, ","), "top_score": flagged[0].Score,
			"top_target_focus": flagged[0].Features.TargetFocus}}
}

// truncateID keeps an alert's user ids short whatever the log held.
func truncateID(id string) string {
	if len(id) > 64 {
		return id[:64]
	}
	return id
}

// readRatings collects the rate events of course log lines, keeping the
// latest limit; other and bad lines are skipped, as Aggregate skips them.
func readRatings(r io.Reader, limit int) ([]anomaly.Rating, error) {
	var out []anomaly.Rating
	var tooLong recommender.BadLines
	_, err := parseLines(r, maxLogLine, &tooLong, nil, func(p *parsedLine) {
		if p.err != nil || p.ev.Kind != events.KindRate {
			return
		}
		out = append(out, anomaly.Rating{Time: p.ev.Time, User: p.ev.User, Movie: p.ev.Movie, Rating: p.ev.Rating})
		if len(out) >= 2*limit {
			out = append(out[:0], out[len(out)-limit:]...)
		}
	})
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, err
}
