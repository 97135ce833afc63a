package main

import (
	"context"
	"crypto/ed25519"
	"flag"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/recommender"
)

// openTestFeedback opens a feedback loop over a fresh model root holding a
// signed popularity model, closed when the test ends. cfg's Train defaults
// to feedbackTrainer; the config returned carries the root and key chosen.
func openTestFeedback(t *testing.T, cfg recommender.FeedbackConfig) (*recommender.Feedback, recommender.FeedbackConfig) {
	t.Helper()
	cfg.Root = filepath.Join(t.TempDir(), "model")
	_, cfg.Key, _ = ed25519.GenerateKey(nil)
	if _, err := recommender.Publish(cfg.Root, popularity("pop-1", "a", "b"), recommender.SaveOptions{Key: cfg.Key}); err != nil {
		t.Fatal(err)
	}
	cfg.Aggregate = aggregateMovielog
	if cfg.Train == nil {
		cfg.Train = feedbackTrainer()
	}
	fb, err := recommender.OpenFeedback(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	return fb, cfg
}

func TestFeedbackHandler(t *testing.T) {
	fb, _ := openTestFeedback(t, recommender.FeedbackConfig{})
	handle := feedbackHandler(fb)
	for i, value := range []string{
		"2026-01-01T10:00:00,42,GET /data/m/the+matrix+1999/3.mpg",
		"2026-01-01T10:00:01,42,GET /rate/the+matrix+1999=5",
		"2026-01-01T10:00:02,43,GET /create_account",
		"2026-01-01T10:00:03,42,recommendation request srv1, status 200, result: a, b, 12 ms",
		"not a course line",
	} {
		if err := handle(context.Background(), &kgo.Record{Value: []byte(value), Partition: 1, Offset: int64(i)}); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	st := fb.Status()
	if st.Verified != 3 || st.Skipped != 2 || st.Offsets != "p1:5" {
		t.Errorf("status %+v: want 3 logged, 2 skipped, next offset 5", st)
	}
}

func TestAggregateMovielogWeighsLikeTrain(t *testing.T) {
	lines := "2026-01-01T10:00:00,42,GET /data/m/m1/1.mpg\n2026-01-01T10:00:01,42,GET /data/m/m1/1.mpg\n" +
		"2026-01-01T10:00:02,42,GET /data/m/m1/2.mpg\n2026-01-01T10:00:03,42,GET /rate/m2=1\n"
	in, err := aggregateMovielog(strings.NewReader(lines))
	if err != nil || len(in) != 2 {
		t.Fatalf("%v %v: want two pairs", in, err)
	}
	if in[0].Weight != pairWeight(2, 0) || in[1].Weight != 0 {
		t.Errorf("weights %v, %v: want %v (two distinct minutes) and 0 (a dislike)", in[0].Weight, in[1].Weight, pairWeight(2, 0))
	}
}

func TestFeedbackTrainer(t *testing.T) {
	train := feedbackTrainer()
	in := []recommender.Interaction{{User: "1", Item: "a", Weight: 1}, {User: "2", Item: "b", Weight: 1}}
	m, err := train(recommender.KindPopularity, in, "v2")
	if err != nil || m.Version() != "v2" || m.Meta().Kind != recommender.KindPopularity {
		t.Fatalf("popularity candidate: %v", err)
	}
	if _, err := train("nonesuch", in, "v3"); err == nil {
		t.Error("unknown kind trained")
	}
	if _, err := train(recommender.KindPopularity, nil, "v4"); err == nil {
		t.Error("trained on nothing")
	}
}

func TestFeedbackFlags(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name, brokersEnv, embeddedEnv string
		args                          []string
		want                          string
		usageErr                      bool
	}{
		{name: "none configured"},
		{name: "embedded listen", embeddedEnv: "127.0.0.1:9092", want: "127.0.0.1:9092"},
		{name: "brokers win", brokersEnv: "b1:9092,b2:9092", embeddedEnv: "127.0.0.1:9092", want: "b1:9092,b2:9092"},
		{name: "flag wins", brokersEnv: "b1:9092", args: []string{"--brokers", "f:1"}, want: "f:1"},
		{name: "zero events", args: []string{"--retrain-events", "0"}, usageErr: true},
		{name: "negative threshold", args: []string{"--promote-threshold", "-1"}, usageErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("REELGUARD_KAFKA_BROKERS", tt.brokersEnv)
			t.Setenv("REELGUARD_KAFKA_EMBEDDED_LISTEN", tt.embeddedEnv)
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			f := addFeedbackFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := f.check(); (err != nil) != tt.usageErr {
				t.Fatalf("check = %v, want usage error %v", err, tt.usageErr)
			}
			if f.brokers != tt.want {
				t.Errorf("brokers %q, want %q", f.brokers, tt.want)
			}
			if tt.want == "" && !tt.usageErr {
				if actors, err := f.actors(t.TempDir(), t.TempDir(), "127.0.0.1:0", logger); err != nil || len(actors) != 0 {
					t.Errorf("no broker: %d actors, %v; want none", len(actors), err)
				}
			}
		})
	}
}
