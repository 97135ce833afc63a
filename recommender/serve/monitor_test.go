package serve_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
	"github.com/reelguard/reelguard/recommender/serve"
)

// armLog feeds n answers of version, one a second from t0, each naming
// movie "m"; the first converted of them are followed by a watch of m a
// minute later. It returns the time of the last answer.
func armLog(mon *recommender.OnlineMonitor, version string, userBase, n, converted int) {
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		at, user := t0.Add(time.Duration(i)*time.Second), fmt.Sprint(userBase+i)
		mon.ObserveAnswer(recommender.OnlineAnswer{Time: at, User: user, Model: version, Status: 200,
			Items: []string{"m", fmt.Sprintf("x%d", i%7)}, Latency: time.Duration(10+i%10) * time.Millisecond})
		if i < converted {
			mon.ObserveWatch(recommender.OnlineWatch{Time: at.Add(time.Minute), User: user, Movie: "m"})
		}
	}
}

// monitorFor: 1000 answers per arm over 1000 s; a Window of an hour holds
// them all and an answer 50 minutes on settles them (Within 30 m).
func monitorFor(tb testing.TB, mainConv, canaryConv int) *recommender.OnlineMonitor {
	tb.Helper()
	mon := recommender.NewOnlineMonitor(recommender.OnlineConfig{Within: 30 * time.Minute, Window: time.Hour})
	armLog(mon, "v1", 100000, 1000, mainConv)
	armLog(mon, "v2", 200000, 1000, canaryConv)
	// A failed answer 50 minutes on moves the watermark (v3: no other figure changes).
	mon.ObserveAnswer(recommender.OnlineAnswer{Time: time.Date(2024, 3, 1, 0, 50, 0, 0, time.UTC), User: "1", Model: "v3", Status: 503})
	return mon
}

func TestMonitorMetrics(t *testing.T) {
	h := serve.NewMonitorHandler(monitorFor(t, 300, 350), serve.MonitorConfig{Main: "v1", Canary: "v2"})
	body := do(t, h, "GET", "/metrics", "").Body.String()
	for _, line := range []string{
		`reelguard_online_quality{version="v1"} 0.3`,
		`reelguard_online_quality{version="v2"} 0.35`,
		`reelguard_online_settled_answers{version="v1"} 1000`,
		`reelguard_online_converted_answers{version="v2"} 350`,
		`reelguard_online_answers{version="v2"} 1000`,
		`reelguard_online_availability{version="v1"} 1`,
		`reelguard_online_latency_seconds{quantile="0.5",version="v1"} 0.014`, // 10..19 ms, 100 each: rank 500 is 14
		`reelguard_online_latency_seconds{quantile="0.99",version="v1"} 0.019`,
		`reelguard_online_distinct_list_share{version="v1"} 0.007`, // 7 distinct lists among 1000 users
		`reelguard_online_canary_promotable{canary="v2",main="v1",reason="ok"} 1`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
}

func TestMonitorPromotion(t *testing.T) {
	tests := []struct {
		name, query   string
		main, canary  int
		status        int
		promote       bool
		reason, mainV string
	}{
		{"canary better", "canary=v2", 300, 350, 200, true, "ok", "v1"},
		{"canary worse", "canary=v2&main=v1", 300, 200, 200, false, "quality", "v1"},
		{"main named explicitly", "canary=v1&main=v2", 300, 350, 200, false, "quality", "v2"},
		{"no canary named", "", 300, 300, 400, false, "", ""},
		{"canary is main", "canary=v1&main=v1", 300, 300, 400, false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := serve.NewMonitorHandler(monitorFor(t, tc.main, tc.canary), serve.MonitorConfig{})
			rec := do(t, h, "GET", "/promotion?"+tc.query, "")
			if rec.Code != tc.status {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if tc.status != http.StatusOK {
				return
			}
			var ans serve.PromotionAnswer
			if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
				t.Fatal(err)
			}
			if ans.Promote != tc.promote || ans.Reason != tc.reason || ans.Main != tc.mainV {
				t.Errorf("answer %+v, want promote %v reason %s main %s", ans, tc.promote, tc.reason, tc.mainV)
			}
		})
	}
	few := recommender.NewOnlineMonitor(recommender.OnlineConfig{})
	armLog(few, "v1", 1, 10, 5)
	armLog(few, "v2", 100, 10, 5)
	rec := do(t, serve.NewMonitorHandler(few, serve.MonitorConfig{}), "GET", "/promotion?canary=v2", "")
	if !strings.Contains(rec.Body.String(), `"reason":"insufficient_data"`) {
		t.Errorf("10 answers an arm: %s", rec.Body)
	}
}
