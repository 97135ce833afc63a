package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
)

// movielogTopic is where the gateway's ingested events arrive.
const movielogTopic = "movielog"

// feedbackFlags are serve's flags for the verifying movielog consumer and
// the feedback loop, which run only when a broker is configured.
type feedbackFlags struct {
	brokers   string
	group     string
	base      string
	state     string
	interval  time.Duration
	events    int
	threshold float64
	gate      gateFlags // the promotion gate's fairness checks (issue 9)
}

// gateFlags are the promotion gate's fairness flags and its alert hook.
type gateFlags struct {
	users, items               string
	gap, coverage, calibration float64
	// alert, when set before the loop runs, is told of every candidate a
	// fairness check refused (the alert path sets it).
	alert func(recommender.FeedbackDecision)
}

func addFeedbackFlags(fs *flag.FlagSet) *feedbackFlags {
	f := &feedbackFlags{}
	fs.StringVar(&f.brokers, "brokers", cmp.Or(os.Getenv("REELGUARD_KAFKA_BROKERS"), os.Getenv("REELGUARD_KAFKA_EMBEDDED_LISTEN")),
		"Kafka brokers, comma-separated, for the verifying movielog consumer and the feedback loop; empty: neither runs (env REELGUARD_KAFKA_BROKERS, else REELGUARD_KAFKA_EMBEDDED_LISTEN)")
	fs.StringVar(&f.group, "group", "recommender", "consumer group of the movielog consumer")
	fs.StringVar(&f.base, "feedback-base", "", "course log the current model was trained from; candidates train on it plus the verified events (default: the events alone)")
	fs.StringVar(&f.state, "state", "", "folder for this instance's replay windows (default $REELGUARD_DATA/state/recommender-<listen>)")
	fs.DurationVar(&f.interval, "retrain-interval", recommender.DefaultRetrainInterval, "retrain this long after the last attempt when events arrived")
	fs.IntVar(&f.events, "retrain-events", recommender.DefaultRetrainEvents, "retrain as soon as this many events arrived")
	fs.Float64Var(&f.threshold, "promote-threshold", recommender.DefaultPromoteThreshold,
		"promote a candidate unless its held-out nDCG@10 is below the current model's by more than this")
	fs.StringVar(&f.gate.users, "users", "", "MovieLens user file (u.user or users.dat) for the gate's gender and age-band gap checks (default: skipped)")
	fs.StringVar(&f.gate.items, "items", "", "MovieLens item file (u.item or movies.dat) for the gate's calibration check (default: skipped)")
	fs.Float64Var(&f.gate.gap, "max-group-gap-increase", recommender.DefaultMaxGroupGapIncrease,
		"refuse a candidate whose held-out nDCG gap between genders or between age bands widens by more than this")
	fs.Float64Var(&f.gate.coverage, "max-coverage-drop", recommender.DefaultMaxCoverageDrop,
		"refuse a candidate whose catalog coverage falls by more than this (a share of the items)")
	fs.Float64Var(&f.gate.calibration, "max-calibration-increase", recommender.DefaultMaxCalibrationIncrease,
		"refuse a candidate whose mean calibration KL divergence rises by more than this")
	return f
}

func (f *feedbackFlags) check() error {
	if f.interval <= 0 || f.events <= 0 || f.threshold < 0 || f.group == "" {
		return fmt.Errorf("%w: serve: --retrain-interval and --retrain-events must be positive, --promote-threshold not negative, --group set", errUsage)
	}
	if f.gate.gap < 0 || f.gate.coverage < 0 || f.gate.calibration < 0 {
		return fmt.Errorf("%w: serve: --max-group-gap-increase, --max-coverage-drop and --max-calibration-increase must not be negative", errUsage)
	}
	return nil
}

// actors returns the movielog consumer and the feedback loop over the model
// root dir, or none when no broker is configured.
func (f *feedbackFlags) actors(dir, keys, listen string, logger *slog.Logger) ([]actor, error) {
	brokers := splitList(f.brokers)
	if len(brokers) == 0 {
		logger.Info("no kafka brokers configured: movielog consumer and feedback loop off")
		return nil, nil
	}
	fb, err := f.openFeedback(dir, keysDir(keys), logger)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	alerts, err := newSignatureAlerts(brokers, keysDir(keys), logger)
	if err != nil {
		fb.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	f.gate.alert = alerts.modelRefused // before the loop runs
	consumer, err := f.newConsumer(brokers, keysDir(keys), listen, fb, alerts, logger)
	if err != nil {
		fb.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	logger.Info("verifying movielog consumer and feedback loop on", "brokers", f.brokers, "group", f.group,
		"retrain_interval", f.interval, "retrain_events", f.events, "promote_threshold", f.threshold)
	return []actor{contextActor(consumer.Run), contextActor(fb.Run), contextActor(alerts.run)}, nil
}

func (f *feedbackFlags) openFeedback(dir, keys string, logger *slog.Logger) (*recommender.Feedback, error) {
	key, err := recommender.LoadSigningKey(keys)
	if err != nil {
		return nil, fmt.Errorf("feedback loop: %w", err)
	}
	cfg := recommender.FeedbackConfig{
		Root: dir, Key: key, BaseData: f.base, Aggregate: aggregateMovielog, Train: feedbackTrainer(),
		Interval: f.interval, MaxEvents: f.events, Threshold: f.threshold, Logger: logger,
		MaxGroupGapIncrease: f.gate.gap, MaxCoverageDrop: f.gate.coverage, MaxCalibrationIncrease: f.gate.calibration,
		OnDecision: func(d recommender.FeedbackDecision) {
			if !d.FairnessRefused() {
				return
			}
			logger.Warn("feedback: candidate refused by a fairness check", "candidate", d.Candidate, "refused", d.Refused, "reason", d.Reason)
			if f.gate.alert != nil {
				f.gate.alert(d)
			}
		},
	}
	if f.gate.users != "" {
		if cfg.Users, err = readUsers(f.gate.users, logWriter{logger}); err != nil {
			return nil, fmt.Errorf("feedback loop: %w", err)
		}
	}
	if f.gate.items != "" {
		if cfg.Items, err = readItems(f.gate.items, logWriter{logger}); err != nil {
			return nil, fmt.Errorf("feedback loop: %w", err)
		}
	}
	return recommender.OpenFeedback(cfg)
}

func (f *feedbackFlags) newConsumer(brokers []string, keys, listen string, fb *recommender.Feedback,
	alerts *signatureAlerts, logger *slog.Logger) (*events.Consumer, error) {
	keyset, err := events.LoadKeyset(filepath.Join(keys, events.KeysetFile))
	if err != nil {
		return nil, fmt.Errorf("movielog consumer: %w", err)
	}
	state := cmp.Or(f.state, filepath.Join(cmp.Or(os.Getenv("REELGUARD_DATA"), ".reelguard"), "state", "recommender-"+safeName(listen)))
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, fmt.Errorf("movielog consumer: %w", err)
	}
	return events.NewConsumer(events.ConsumerConfig{
		Brokers: brokers, Group: f.group, Topics: []string{movielogTopic},
		Verifier: events.NewVerifier(keyset, 0),
		Handler:  screenedFeedbackHandler(fb, newPoisoningScreen(alerts, logger)),
		OnReject: func(r *kgo.Record, reason string, _ error) {
			fb.Reject(reason)
			alerts.rejected(r, reason)
		},
		StateFile: filepath.Join(state, "replay.json"),
		Logger:    logger,
	})
}

// feedbackHandler hands each verified movielog record to the loop: watch,
// rate and create_account lines are logged for training, anything else is
// counted and skipped (never retried: it will not parse next time either).
// serve puts the poisoning screen in front (screenedFeedbackHandler).
func feedbackHandler(fb *recommender.Feedback) func(context.Context, *kgo.Record) error {
	return screenedFeedbackHandler(fb, nil)
}

// aggregateMovielog weights course lines exactly as `recommender train
// --format movielog` does.
func aggregateMovielog(r io.Reader) ([]recommender.Interaction, error) {
	log, err := readMovielog(r)
	return log.Interactions, err
}

// feedbackTrainer trains a candidate of the current model's kind with the
// default hyperparameters of `recommender train`.
func feedbackTrainer() func(recommender.Kind, []recommender.Interaction, string) (*recommender.Model, error) {
	cfg := algoFlags(flag.NewFlagSet("feedback", flag.ContinueOnError)) // the flags' defaults
	trainers := cfg.trainers()
	return func(kind recommender.Kind, in []recommender.Interaction, version string) (*recommender.Model, error) {
		train := trainers[string(kind)]
		if train == nil {
			return nil, fmt.Errorf("no trainer for model kind %q", kind)
		}
		if len(in) == 0 {
			return nil, errNoInteractions
		}
		return train(in, version)
	}
}

// contextActor runs fn until the group stops.
func contextActor(fn func(context.Context) error) actor {
	ctx, cancel := context.WithCancel(context.Background())
	return actor{
		execute: func() error {
			if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
		interrupt: func(error) { cancel() },
	}
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// safeName keeps letters, digits and . - _ of s, for a folder name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, s)
}
