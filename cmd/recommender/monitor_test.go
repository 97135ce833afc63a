package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/recommender"
)

func TestMonitorFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no brokers", []string{"--brokers", ""}},
		{"zero window", []string{"--brokers", "x:1", "--window", "0s"}},
		{"negative within", []string{"--brokers", "x:1", "--within", "-1m"}},
		{"zero margin", []string{"--brokers", "x:1", "--margin", "0"}},
		{"stray argument", []string{"--brokers", "x:1", "extra"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code := Main(append([]string{"monitor"}, tc.args...), nil, io.Discard, io.Discard); code != exitUsage {
				t.Fatalf("exit %d, want %d", code, exitUsage)
			}
		})
	}
}

func TestRecordModel(t *testing.T) {
	tests := []struct {
		headers []kgo.RecordHeader
		want    string
	}{
		{nil, recommender.UnknownModel},
		{[]kgo.RecordHeader{{Key: "model", Value: []byte("als-1700000000")}}, "als-1700000000"},
		{[]kgo.RecordHeader{{Key: "model", Value: []byte("v1\n")}}, "invalid"},
		{[]kgo.RecordHeader{{Key: "model", Value: []byte(strings.Repeat("v", 65))}}, "invalid"},
		{[]kgo.RecordHeader{{Key: "model", Value: nil}}, "invalid"},
	}
	for _, tc := range tests {
		if got := recordModel(&kgo.Record{Headers: tc.headers}); got != tc.want {
			t.Errorf("headers %v: %q, want %q", tc.headers, got, tc.want)
		}
	}
}

// monitorLog is a request log and movielog worked out by hand: v1 answers
// users 1-4 with a,b and users 1 and 2 watch a or b within 30 minutes
// (quality 2/4); v2 answers users 5 and 6 with c and user 5 watches it
// (1/2); an answer without a model header fails (unknown, availability 0).
// An answer an hour on (v9) moves the watermark so every answer is settled.
func monitorLog(t0 time.Time) (recs, watches []string, models []string) {
	line := func(sec int, user, rest string) string {
		return events.FormatTime(t0.Add(time.Duration(sec)*time.Second)) + "," + user + "," + rest
	}
	ok := func(sec int, user, ids string) string {
		return line(sec, user, "recommendation request gw:8443, status 200, result: "+ids+", 12 ms")
	}
	recs = []string{ok(1, "1", "a, b"), ok(2, "2", "a, b"), ok(3, "3", "a, b"), ok(4, "4", "a, b"),
		ok(5, "5", "c"), ok(6, "6", "c"),
		line(7, "7", "recommendation request gw:8443, status 503, result: , 3 ms"),
		ok(3600, "9", "z")} // an hour on: moves the watermark so every answer above is settled
	models = []string{"v1", "v1", "v1", "v1", "v2", "v2", "", "v9"}
	watches = []string{line(60, "1", "GET /data/m/a/0.mpg"), line(120, "2", "GET /data/m/b/3.mpg"),
		line(600, "5", "GET /data/m/c/0.mpg"), line(2000, "3", "GET /data/m/a/0.mpg"), // user 3: 33 minutes later
		line(10, "6", "GET /rate/c=5"), line(9000, "8", "GET /data/m/q/0.mpg")} // a watch from the future moves nothing
	return recs, watches, models
}

func TestMonitorCommand(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(2))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	keys := t.TempDir()
	if _, err := events.EnsureKeys(keys); err != nil {
		t.Fatal(err)
	}
	produceMonitorLog(t, brokers, keys)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := monitorOptions{brokers: brokers, group: "monitor-test", keys: keys, state: t.TempDir(),
		online: recommender.OnlineConfig{Within: 30 * time.Minute, Window: time.Hour}}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- monitorOn(ctx, ln, opts, slog.New(slog.DiscardHandler)) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("monitor returned %v", err)
		}
	}()
	url := "http://" + ln.Addr().String() + "/metrics"
	var body string
	eventually(t, "every record to be read", func() bool {
		body = httpGet(t, url)
		return strings.Contains(body, `reelguard_monitor_records_total{result="watch",topic="movielog"} 5`) &&
			strings.Contains(body, `reelguard_monitor_records_total{result="answer",topic="recommendations"} 8`) &&
			strings.Contains(body, `reelguard_monitor_rejected_total{reason="bad_signature",topic="recommendations"} 1`)
	})
	for _, line := range []string{
		`reelguard_online_quality{version="v1"} 0.5`,
		`reelguard_online_quality{version="v2"} 0.5`,
		`reelguard_online_availability{version="unknown"} 0`,
		`reelguard_online_availability{version="v1"} 1`,
		`reelguard_online_latency_seconds{quantile="0.5",version="v1"} 0.012`,
		`reelguard_online_personalization{version="v1"} 0`, // everyone got a,b
		`reelguard_monitor_records_total{result="skipped",topic="movielog"} 1`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
}

// produceMonitorLog signs monitorLog's lines with the data folder's event
// key, as the gateway does, plus one forged answer.
func produceMonitorLog(tb testing.TB, brokers []string, keys string) {
	tb.Helper()
	signer, err := events.LoadSigner(keys)
	if err != nil {
		tb.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	recs, watches, models := monitorLog(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	var out []*kgo.Record
	for i, v := range recs {
		r := &kgo.Record{Topic: recommendationsTopic, Key: []byte(fmt.Sprint(i)), Value: []byte(v)}
		if models[i] != "" {
			r.Headers = []kgo.RecordHeader{{Key: modelRecordHeader, Value: []byte(models[i])}}
		}
		out = append(out, r)
	}
	for i, v := range watches {
		out = append(out, &kgo.Record{Topic: movielogTopic, Key: []byte(fmt.Sprint(i)), Value: []byte(v)})
	}
	for _, r := range out {
		if err := signer.Sign(r, time.Now()); err != nil {
			tb.Fatal(err)
		}
	}
	forged := &kgo.Record{Topic: recommendationsTopic, Key: []byte("8"), Value: []byte(recs[0])}
	if err := signer.Sign(forged, time.Now()); err != nil {
		tb.Fatal(err)
	}
	forged.Value = []byte(strings.Replace(recs[0], "a, b", "z, z", 1))
	out = append(out, forged)
	if err := cl.ProduceSync(context.Background(), out...).FirstErr(); err != nil {
		tb.Fatal(err)
	}
}

func httpGet(tb testing.TB, url string) string {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// FuzzMonitorHandler: any record value and model header is counted once
// and never fails or panics the handler.
func FuzzMonitorHandler(f *testing.F) {
	recs, watches, _ := monitorLog(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, v := range append(recs, watches...) {
		f.Add(false, v, "v1")
		f.Add(true, v, "")
	}
	f.Add(false, "2024-01-01T00:00:00,1,recommendation request gw, status 200, result: "+strings.Repeat("a, ", 200)+"a, 1 ms", "v\x00")
	f.Fuzz(func(t *testing.T, movielog bool, value, model string) {
		mon := recommender.NewOnlineMonitor(recommender.OnlineConfig{})
		reg := prometheus.NewRegistry()
		counts := newMonitorCounts(reg)
		topic := recommendationsTopic
		if movielog {
			topic = movielogTopic
		}
		r := &kgo.Record{Topic: topic, Value: []byte(value), Headers: []kgo.RecordHeader{{Key: modelRecordHeader, Value: []byte(model)}}}
		if err := monitorHandler(mon, counts)(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		mfs, err := reg.Gather()
		if err != nil || len(mfs) != 1 || len(mfs[0].Metric) != 1 || mfs[0].Metric[0].Counter.GetValue() != 1 {
			t.Fatalf("records counted %v (%v), want one", mfs, err)
		}
		for _, v := range mon.Snapshot().Versions {
			if v.Version != recommender.UnknownModel && v.Version != "invalid" && v.Version != model {
				t.Fatalf("version label %q from header %q", v.Version, model)
			}
		}
	})
}
