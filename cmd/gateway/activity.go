package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/events"
)

// movielogTopic carries the watch, rate and create_account events that
// POST /events ingests (gateway/ingest.go writes them).
const movielogTopic = "movielog"

// newMonitor builds the detectors as gateway.New would by default, so that
// the stack holds their activity set and can feed it from the stream.
func newMonitor(c config) (*anomaly.Monitor, error) {
	mc := anomaly.DefaultConfig()
	mc.Shadow = c.DetectorsShadow
	return anomaly.NewMonitor(mc)
}

// activityConsumer verifies movielog like every consumer and marks the user
// of each watch, rate and create_account event active in act: the
// extraction detector then sees a principal asking for users who are not
// watching (a front end asks for users watching now; a scraper for
// everyone). Each instance has its own consumer group, for every instance
// needs the whole stream; a new group starts at the topic's start, and the
// set keeps only events from its TTL back.
func (s *stack) activityConsumer(act *anomaly.Activity) (*events.Consumer, error) {
	keyset, err := events.LoadKeyset(filepath.Join(s.cfg.Data, "keys", events.KeysetFile))
	if err != nil {
		return nil, fmt.Errorf("activity consumer: %w", err)
	}
	c, err := events.NewConsumer(events.ConsumerConfig{
		Brokers: s.cfg.KafkaBrokers, Group: "gateway-activity-" + s.cfg.Instance, Topics: []string{movielogTopic},
		Verifier: events.NewVerifier(keyset, 0),
		Handler:  activityHandler(act, time.Now),
		OnReject: func(_ *kgo.Record, reason string, _ error) {
			// The recommender's consumer raises the signature alert.
			s.log.Debug("movielog record rejected by the activity consumer", "reason", reason)
		},
		StateFile: filepath.Join(s.cfg.stateDir(), "activity-replay.json"),
		Logger:    s.log,
	})
	if err != nil {
		return nil, fmt.Errorf("activity consumer: %w", err)
	}
	return c, nil
}

// activityHandler marks the user of each verified watch, rate or
// create_account line active at the record's time (when the gateway took
// the event in; the line's own time is the client's word, and a replayed
// log's times are old), never later than now. Other lines are skipped,
// never retried: they will not parse next time either.
func activityHandler(act *anomaly.Activity, now func() time.Time) func(context.Context, *kgo.Record) error {
	return func(_ context.Context, r *kgo.Record) error {
		ev, err := events.ParseLine(string(r.Value))
		if err != nil {
			return nil
		}
		switch ev.Kind {
		case events.KindWatch, events.KindRate, events.KindCreateAccount:
		default:
			return nil
		}
		t, at := now(), r.Timestamp
		if at.IsZero() || at.After(t) {
			at = t
		}
		act.Observe(ev.User, at, t)
		return nil
	}
}

// addActivity runs the activity consumer in g until ctx ends or g stops,
// and reports the set on /metrics.
func (s *stack) addActivity(ctx context.Context, g *run.Group) error {
	c, err := s.activityConsumer(s.monitor.Activity)
	if err != nil {
		return err
	}
	if err := s.gw.Metrics().Register(activityCollectors(s.monitor.Activity)...); err != nil {
		return fmt.Errorf("activity metrics: %w", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	g.Add(func() error { return c.Run(runCtx) }, func(error) { stop() })
	return nil
}

// activityCollectors report the activity set's size and whether the
// extraction detector judges targets against it yet.
func activityCollectors(act *anomaly.Activity) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "reelguard_activity_users",
			Help: "Users with a watch, rate or create_account event in the activity TTL, per the verified movielog stream."},
			func() float64 { return float64(act.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "reelguard_activity_ready",
			Help: "1 once the activity set has followed movielog long enough for the extraction detector to judge inactive targets."},
			func() float64 { return map[bool]float64{true: 1}[act.Ready(time.Now())] }),
	}
}
