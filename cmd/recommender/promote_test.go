package main

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
	"github.com/reelguard/reelguard/recommender/serve"
)

// feedArm gives mon n answers of version, one a second, each listing movie
// "m"; the first converted are followed by a watch of m a minute later.
func feedArm(mon *recommender.OnlineMonitor, version string, userBase, n, converted int) {
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		at, user := t0.Add(time.Duration(i)*time.Second), fmt.Sprint(userBase+i)
		mon.ObserveAnswer(recommender.OnlineAnswer{Time: at, User: user, Model: version, Status: 200,
			Items: []string{"m", fmt.Sprintf("x%d", i%7)}, Latency: 10 * time.Millisecond})
		if i < converted {
			mon.ObserveWatch(recommender.OnlineWatch{Time: at.Add(time.Minute), User: user, Movie: "m"})
		}
	}
	// An answer 50 minutes on moves the watermark past the 30-minute
	// attribution window, settling the answers above.
	mon.ObserveAnswer(recommender.OnlineAnswer{Time: t0.Add(50 * time.Minute), User: "0", Model: "other", Status: 503})
}

// onlineMonitor is the real monitor API (serve.NewMonitorHandler, default
// rule: 500 settled answers an arm) over n answers of main and of canary,
// with the given conversions; asked counts its GET /promotion requests.
func onlineMonitor(tb testing.TB, main, canary string, n, mainConv, canaryConv int) (url string, asked *atomic.Int32) {
	tb.Helper()
	mon := recommender.NewOnlineMonitor(recommender.OnlineConfig{Within: 30 * time.Minute, Window: time.Hour})
	feedArm(mon, main, 100000, n, mainConv)
	feedArm(mon, canary, 200000, n, canaryConv)
	return countingMonitor(tb, serve.NewMonitorHandler(mon, serve.MonitorConfig{}), nil)
}

// countingMonitor serves h, counting GET /promotion requests and calling
// before(n) ahead of the nth.
func countingMonitor(tb testing.TB, h http.Handler, before func(n int32)) (string, *atomic.Int32) {
	tb.Helper()
	asked := new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/promotion" {
			n := asked.Add(1)
			if before != nil {
				before(n)
			}
		}
		h.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL, asked
}

// promoteRoot is a model root holding v1 (current) and v2, its child
// (published, then rolled back), signed with the keys in keys.
func promoteRoot(tb testing.TB) (root, keys string) {
	tb.Helper()
	dir := tb.TempDir()
	root, keys = filepath.Join(dir, "model"), filepath.Join(dir, "keys")
	for _, m := range []*recommender.Model{popularity("v1", "a", "b"), popularity("v2", "b", "a")} {
		if _, err := recommender.Publish(root, m, recommender.SaveOptions{KeysDir: keys}); err != nil {
			tb.Fatal(err)
		}
	}
	mustRun(tb, "", "rollback", "--model", root, "--keys", keys)
	return root, keys
}

func readPromotions(tb testing.TB, root string) []recommender.Promotion {
	tb.Helper()
	log, err := recommender.ReadPromotions(root)
	if err != nil {
		tb.Fatal(err)
	}
	return log
}

func TestPromoteOnline(t *testing.T) {
	// The lower bound a promotion of 0.35 over 0.30 on 1000 settled answers
	// each must record: 0.05 - 1.645*sqrt(0.3*0.7/1000 + 0.35*0.65/1000).
	wantBound := 0.05 - 1.645*math.Sqrt(0.3*0.7/1000+0.35*0.65/1000)
	tests := []struct {
		name               string
		n, mainC, canaryC  int
		flags              []string
		code               int
		stderr, reason     string
		required, recorded bool
	}{
		{"canary better", 1000, 300, 350, nil, 0, "", "ok", true, true},
		{"canary worse", 1000, 300, 200, nil, 1, "worse online than the main model (reason quality): candidate v2 quality 0.2000 (200 of 1000", "", true, false},
		{"too few settled answers", 10, 5, 5, nil, 1, "not enough online data (reason insufficient_data)", "", true, false},
		{"worse, online check not required", 1000, 300, 200, []string{"--require-online=false"}, 0, "", "quality", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, keys := promoteRoot(t)
			url, asked := onlineMonitor(t, "v1", "v2", tc.n, tc.mainC, tc.canaryC)
			args := append([]string{"promote", "--model", root, "--keys", keys, "--candidate", "v2", "--monitor", url, "--by", "ops"}, tc.flags...)
			code, out, errOut := runMain(t, "", args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) || asked.Load() != 1 {
				t.Fatalf("exit %d (want %d), monitor asked %d times\nstdout %s\nstderr %s\nwant stderr with %q", code, tc.code, asked.Load(), out, errOut, tc.stderr)
			}
			log := readPromotions(t, root)
			if want := map[bool]string{true: "v2", false: "v1"}[tc.recorded]; currentOf(t, root) != want || len(log) != map[bool]int{true: 1}[tc.recorded] {
				t.Fatalf("current %s (want %s), %d promotions logged", currentOf(t, root), want, len(log))
			}
			if !tc.recorded {
				return
			}
			on := log[0].Online
			if log[0].From != "v1" || log[0].To != "v2" || log[0].By != "ops" || on == nil || on.Reason != tc.reason || on.Required != tc.required ||
				on.Monitor != url || !on.Main.Found || on.Main.Quality != 0.3 || on.Main.Settled != 1000 || on.Canary.Settled != 1000 {
				t.Fatalf("promotion record %+v, online %+v", log[0], on)
			}
			if tc.reason == "ok" && (math.Abs(on.LowerBound-wantBound) > 1e-12 || on.Canary.Quality != 0.35 || on.Canary.Converted != 350) {
				t.Errorf("lower bound %v (want %v), canary %+v", on.LowerBound, wantBound, on.Canary)
			}
		})
	}
}

func TestPromoteWaitsForSettledAnswers(t *testing.T) {
	root, keys := promoteRoot(t)
	mon := recommender.NewOnlineMonitor(recommender.OnlineConfig{Within: 30 * time.Minute, Window: time.Hour})
	url, asked := countingMonitor(t, serve.NewMonitorHandler(mon, serve.MonitorConfig{}), func(n int32) {
		if n == 3 { // the data arrives while promote waits
			feedArm(mon, "v1", 100000, 1000, 300)
			feedArm(mon, "v2", 200000, 1000, 350)
		}
	})
	code, out, errOut := runMain(t, "", "promote", "--model", root, "--keys", keys, "--candidate", "v2", "--monitor", url,
		"--wait", "10m", "--poll", "1ms")
	if code != 0 || asked.Load() != 3 || strings.Count(errOut, "waiting for online data") != 2 || currentOf(t, root) != "v2" {
		t.Fatalf("exit %d, asked %d, current %s\nstdout %s\nstderr %s", code, asked.Load(), currentOf(t, root), out, errOut)
	}
	if !strings.HasPrefix(out, "promoted v1 -> v2 (online: ok; candidate v2 quality 0.3500 (350 of 1000 settled answers converted") {
		t.Errorf("stdout %q", out)
	}
}

func TestPromoteRefuses(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(tb testing.TB, root, keys string) []string // extra args
		code    int
		stderr  string
	}{
		{"tampered candidate", func(tb testing.TB, root, _ string) []string {
			seen := filepath.Join(root, recommender.VersionsDir, "v2", recommender.SeenFile)
			b, err := os.ReadFile(seen)
			if err != nil {
				tb.Fatal(err)
			}
			b[len(b)-1] ^= 1
			if err := os.WriteFile(seen, b, 0o644); err != nil {
				tb.Fatal(err)
			}
			return []string{"--candidate", "v2"}
		}, 1, "bad model artifact"},
		{"candidate signed with another key", func(tb testing.TB, _, _ string) []string {
			other := filepath.Join(tb.TempDir(), "other")
			if _, err := recommender.Publish(other, popularity("v3", "a"), recommender.SaveOptions{KeysDir: tb.TempDir()}); err != nil {
				tb.Fatal(err)
			}
			return []string{"--candidate", other}
		}, 1, "bad model signature"},
		{"unknown candidate", func(testing.TB, string, string) []string { return []string{"--candidate", "v9"} }, 1, "unknown model version"},
		{"no candidate", func(testing.TB, string, string) []string { return nil }, 2, "--candidate is required"},
		{"online required without a monitor", func(testing.TB, string, string) []string {
			return []string{"--candidate", "v2", "--require-online", "--monitor", ""}
		}, 2, "--require-online needs --monitor"},
		{"monitor without a scheme", func(testing.TB, string, string) []string {
			return []string{"--candidate", "v2", "--monitor", "127.0.0.1:9103"}
		}, 2, "not an http:// or https:// URL"},
		{"negative wait", func(testing.TB, string, string) []string { return []string{"--candidate", "v2", "--wait", "-1s"} }, 2, "--wait must not be negative"},
		{"monitor unreachable", func(tb testing.TB, _, _ string) []string {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return []string{"--candidate", "v2", "--monitor", srv.URL}
		}, 1, "monitor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, keys := promoteRoot(t)
			url, asked := onlineMonitor(t, "v1", "v2", 1000, 300, 350) // would say promote
			args := append([]string{"promote", "--model", root, "--keys", keys, "--monitor", url}, tc.prepare(t, root, keys)...)
			code, _, errOut := runMain(t, "", args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.stderr)
			}
			if currentOf(t, root) != "v1" || len(readPromotions(t, root)) != 0 || asked.Load() != 0 {
				t.Errorf("current %s, %d promotions logged, monitor asked %d times; want v1, none, none",
					currentOf(t, root), len(readPromotions(t, root)), asked.Load())
			}
		})
	}
}

// TestPromoteEndToEnd trains real versions with the CLI, promotes one back
// by hand, then promotes a canary root's model on the monitor's verdict and
// rolls it back.
func TestPromoteEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data, root, canary, keys := filepath.Join(dir, "ratings.csv"), filepath.Join(dir, "model"), filepath.Join(dir, "canary"), filepath.Join(dir, "keys")
	writeFile(t, dir, "ratings.csv", "userId,movieId,rating,timestamp\n1,10,4,1\n2,10,3,2\n2,20,5,3\n3,30,5,4\n")
	trainVersion(t, data, root, keys, "v1")
	trainVersion(t, data, root, keys, "v2")
	mustRun(t, "", "rollback", "--model", root, "--keys", keys)

	out := mustRun(t, "", "promote", "--model", root, "--keys", keys, "--candidate", "v2", "--reason", "roll forward")
	if !strings.HasPrefix(out, "promoted v1 -> v2 (manual: no online check)\n") || !strings.Contains(out, "* v2\tpopularity\tparent v1") {
		t.Fatalf("manual promote printed %q", out)
	}
	out = mustRun(t, "", "promote", "--model", root, "--keys", keys, "--candidate", "v2")
	if out != "v2 is already the current version: nothing to do\n" {
		t.Errorf("promoting the current version printed %q", out)
	}

	trainVersion(t, data, canary, keys, "c3")
	url, _ := onlineMonitor(t, "v2", "c3", 1000, 300, 350)
	out = mustRun(t, "", "promote", "--model", root, "--keys", keys, "--candidate", canary, "--monitor", url, "--by", "alice")
	if !strings.HasPrefix(out, "promoted v2 -> c3 (online: ok;") || !strings.Contains(out, "* c3\tpopularity\tparent v2") {
		t.Fatalf("online promote printed %q", out)
	}
	if m, err := modelLoader(keys)(root); err != nil || m.Version() != "c3" {
		t.Fatalf("served model after promote: %v, %v", m, err)
	}
	log := readPromotions(t, root)
	if len(log) != 2 || log[0].Reason != "roll forward" || log[0].Online != nil || log[1].By != "alice" || log[1].Source != canary ||
		log[1].From != "v2" || log[1].To != "c3" || log[1].Online == nil || !log[1].Online.Promote {
		t.Fatalf("promotions log %+v", log)
	}
	if out := mustRun(t, "", "rollback", "--model", root, "--keys", keys); !strings.HasPrefix(out, "rolled back c3 -> v2\n") {
		t.Errorf("rollback after promote printed %q", out)
	}
}

func TestArmFigures(t *testing.T) {
	text := "# HELP reelguard_online_quality x\n# TYPE reelguard_online_quality gauge\n" +
		"reelguard_online_quality{version=\"v1\"} 0.3\nreelguard_online_quality{version=\"v10\"} 0.9\n" +
		"reelguard_online_settled_answers{version=\"v1\"} 1000\nreelguard_online_converted_answers{version=\"v1\"} 300\n" +
		"reelguard_online_availability{version=\"v1\"} 1 1700000000000\nreelguard_online_settled_answers{version=\"v2\"} NaN\n"
	tests := []struct {
		version string
		want    recommender.ArmFigures
	}{
		{"v1", recommender.ArmFigures{Version: "v1", Found: true, Quality: 0.3, Settled: 1000, Converted: 300, Availability: 1}},
		{"v2", recommender.ArmFigures{Version: "v2"}},
		{"v", recommender.ArmFigures{Version: "v"}},
	}
	for _, tc := range tests {
		if got := armFigures(text, tc.version); got != tc.want {
			t.Errorf("armFigures(%s) = %+v, want %+v", tc.version, got, tc.want)
		}
	}
}

func FuzzArmFigures(f *testing.F) {
	f.Add("reelguard_online_quality{version=\"v1\"} 0.3\nreelguard_online_settled_answers{version=\"v1\"} 1e3\n", "v1")
	f.Add("reelguard_online_quality{version=\"v1\"} \n{version=\"v1\"} +Inf", "v1")
	f.Fuzz(func(t *testing.T, text, version string) {
		a := armFigures(text, version)
		if a.Version != version || math.IsNaN(a.Quality) || math.IsInf(a.Availability, 0) {
			t.Fatalf("armFigures = %+v", a)
		}
	})
}
