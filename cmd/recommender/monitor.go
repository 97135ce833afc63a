package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
	"github.com/reelguard/reelguard/recommender/serve"
)

// Monitor defaults and names.
const (
	defaultMonitorListen = "127.0.0.1:9103"
	recommendationsTopic = "recommendations"
	// modelRecordHeader is the record header naming the model version that
	// produced a request-log answer (the gateway's X-Reelguard-Model).
	modelRecordHeader = "model"
	maxVersionLen     = 64
)

// monitorOptions are monitor's settings after parsing.
type monitorOptions struct {
	brokers                    []string
	group, keys, state, listen string
	online                     recommender.OnlineConfig
	monitor                    serve.MonitorConfig
}

func runMonitor(args []string, _, stderr io.Writer) error {
	opts, err := parseMonitorFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	defer ln.Close()
	return monitorOn(context.Background(), ln, opts, logger)
}

func parseMonitorFlags(args []string, stderr io.Writer) (monitorOptions, error) {
	fs := newFlagSet("monitor", stderr)
	o := monitorOptions{}
	brokers := fs.String("brokers", cmp.Or(os.Getenv("REELGUARD_KAFKA_BROKERS"), os.Getenv("REELGUARD_KAFKA_EMBEDDED_LISTEN")),
		"Kafka brokers, comma-separated (env REELGUARD_KAFKA_BROKERS, else REELGUARD_KAFKA_EMBEDDED_LISTEN)")
	fs.StringVar(&o.listen, "listen", envOr("REELGUARD_MONITOR_LISTEN", defaultMonitorListen), "address of GET /metrics and GET /promotion (env REELGUARD_MONITOR_LISTEN)")
	fs.DurationVar(&o.online.Window, "window", recommender.DefaultOnlineWindow, "the figures cover the answers of this long before the latest answer time")
	fs.DurationVar(&o.online.Within, "within", recommender.DefaultOnlineWithin, "a watch of a recommended movie this long after the answer counts toward online quality")
	fs.StringVar(&o.group, "group", "recommender-monitor", "consumer group")
	fs.StringVar(&o.keys, "keys", "", "keys directory holding events-keyset.json (default $REELGUARD_DATA/keys)")
	fs.StringVar(&o.state, "state", "", "folder for the replay windows (default $REELGUARD_DATA/state/monitor-<listen>)")
	fs.StringVar(&o.monitor.Main, "main-version", "", "main model version for the reelguard_online_canary_promotable gauge (and GET /promotion's default)")
	fs.StringVar(&o.monitor.Canary, "canary-version", "", "canary model version for the reelguard_online_canary_promotable gauge (and GET /promotion's default)")
	fs.IntVar(&o.monitor.Rule.MinSettled, "min-settled", recommender.DefaultCanaryMinSettled, "settled answers per arm before a promotion verdict")
	fs.Float64Var(&o.monitor.Rule.Margin, "margin", recommender.DefaultCanaryMargin, "how much lower (absolute) the canary's online quality may be")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	if o.brokers = splitList(*brokers); len(o.brokers) == 0 {
		return o, fmt.Errorf("%w: monitor: no --brokers (nor REELGUARD_KAFKA_BROKERS)", errUsage)
	}
	if o.online.Window <= 0 || o.online.Within <= 0 || o.monitor.Rule.MinSettled <= 0 || !(o.monitor.Rule.Margin > 0) || o.group == "" {
		return o, fmt.Errorf("%w: monitor: --window, --within, --min-settled and --margin must be positive, --group set", errUsage)
	}
	return o, nil
}

// monitorOn consumes both topics into an OnlineMonitor and serves its
// figures on ln until ctx ends or a signal stops it.
func monitorOn(ctx context.Context, ln net.Listener, o monitorOptions, logger *slog.Logger) error {
	mon := recommender.NewOnlineMonitor(o.online)
	reg := prometheus.NewRegistry()
	o.monitor.Registry = reg
	h := serve.NewMonitorHandler(mon, o.monitor)
	counts := newMonitorCounts(reg)
	consumer, err := newMonitorConsumer(o, ln.Addr().String(), mon, counts, logger)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	logger.Info("monitor reading", "brokers", o.brokers, "group", o.group, "window", o.online.Window, "within", o.online.Within)
	return serveUntilSignal(ctx, ln, h, logger, contextActor(consumer.Run))
}

func newMonitorConsumer(o monitorOptions, listen string, mon *recommender.OnlineMonitor, counts *monitorCounts,
	logger *slog.Logger) (*events.Consumer, error) {
	keys := keysDir(o.keys)
	created, err := events.EnsureKeys(keys)
	if err != nil {
		return nil, fmt.Errorf("request-log consumer: %w", err)
	}
	if created {
		logger.Warn("created event signing keys: records signed with other keys will be rejected", "dir", keys)
	}
	// The request log is signed with the HMAC key in requestlog.key, movielog
	// with the Ed25519 keys of the public keyset: LoadVerifyKeyset has both.
	keyset, err := events.LoadVerifyKeyset(keys)
	if err != nil {
		return nil, fmt.Errorf("request-log consumer: %w", err)
	}
	state := cmp.Or(o.state, filepath.Join(cmp.Or(os.Getenv("REELGUARD_DATA"), ".reelguard"), "state", "monitor-"+safeName(listen)))
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, fmt.Errorf("request-log consumer: %w", err)
	}
	return events.NewConsumer(events.ConsumerConfig{
		Brokers: o.brokers, Group: o.group, Topics: []string{recommendationsTopic, movielogTopic},
		Verifier: events.NewVerifier(keyset, 0),
		Handler:  monitorHandler(mon, counts),
		OnReject: func(r *kgo.Record, reason string, _ error) {
			counts.rejected.WithLabelValues(r.Topic, reason).Inc()
		},
		StateFile: filepath.Join(state, "replay.json"),
		Logger:    logger,
	})
}

// monitorCounts are the monitor's own counters.
type monitorCounts struct {
	records  *prometheus.CounterVec // by topic and result
	rejected *prometheus.CounterVec // by topic and reason
}

func newMonitorCounts(reg *prometheus.Registry) *monitorCounts {
	c := &monitorCounts{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reelguard_monitor_records_total",
			Help: "Verified records read, by topic and result (answer, watch, skipped, bad_line)."}, []string{"topic", "result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reelguard_monitor_rejected_total",
			Help: "Records that failed verification, by topic and reason."}, []string{"topic", "reason"}),
	}
	reg.MustRegister(c.records, c.rejected)
	return c
}

// monitorHandler feeds verified records to mon: recommendation lines of
// the request log as answers (their model version from the record's
// "model" header), watch lines of movielog as watches; anything else is
// counted and skipped.
func monitorHandler(mon *recommender.OnlineMonitor, counts *monitorCounts) func(context.Context, *kgo.Record) error {
	return func(_ context.Context, r *kgo.Record) error {
		ev, err := events.ParseLine(string(r.Value))
		result := "skipped"
		switch {
		case err != nil:
			result = "bad_line"
		case ev.Kind == events.KindRecommendation && r.Topic == recommendationsTopic:
			mon.ObserveAnswer(recommender.OnlineAnswer{Time: ev.Time, User: ev.User, Model: recordModel(r),
				Status: ev.Status, Items: ev.Result, Latency: ev.Latency})
			result = "answer"
		case ev.Kind == events.KindWatch && r.Topic == movielogTopic:
			mon.ObserveWatch(recommender.OnlineWatch{Time: ev.Time, User: ev.User, Movie: ev.Movie})
			result = "watch"
		}
		counts.records.WithLabelValues(r.Topic, result).Inc()
		return nil
	}
}

// recordModel is the record's model header when it is a plausible version
// (it becomes a metric label), "invalid" when not, UnknownModel when absent.
func recordModel(r *kgo.Record) string {
	for _, h := range r.Headers {
		if h.Key != modelRecordHeader {
			continue
		}
		if len(h.Value) == 0 || len(h.Value) > maxVersionLen || !versionBytes(h.Value) {
			return "invalid"
		}
		return string(h.Value)
	}
	return recommender.UnknownModel
}

func versionBytes(b []byte) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':' || c == '+') {
			return false
		}
	}
	return true
}
