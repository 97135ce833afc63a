package serve_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reelguard/reelguard/recommender"
	"github.com/reelguard/reelguard/recommender/serve"
)

// testModel: 30 items "m00".."m29", item i watched by 30-i users, so the
// popular order is m00, m01, ...; user "1" has seen m00 and m02.
func testModel(tb testing.TB, version string) *recommender.Model {
	tb.Helper()
	var in []recommender.Interaction
	for i := range 30 {
		for u := range 30 - i {
			in = append(in, recommender.Interaction{User: fmt.Sprint(100 + u), Item: fmt.Sprintf("m%02d", i), Weight: 1})
		}
	}
	in = append(in,
		recommender.Interaction{User: "1", Item: "m00", Weight: 1},
		recommender.Interaction{User: "1", Item: "m02", Weight: 5})
	return recommender.TrainPopularity(in, version)
}

func do(tb testing.TB, h http.Handler, method, target, accept string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRecommendText(t *testing.T) {
	h := serve.NewHandler(testModel(t, "pop-1"), nil)
	tests := []struct {
		name, user, first string
		n                 int
	}{
		{"unknown user gets popular", "42", "m00,m01,m02,", 20},
		{"known user skips seen", "1", "m01,m03,m04,", 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, h, "GET", "/recommend/"+tc.user, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q", ct)
			}
			body := rec.Body.String()
			if !strings.HasSuffix(body, "\n") || strings.Contains(body, " ") {
				t.Errorf("body %q: want one line, no spaces", body)
			}
			ids := strings.Split(strings.TrimSuffix(body, "\n"), ",")
			if len(ids) != tc.n || !strings.HasPrefix(body, tc.first) {
				t.Errorf("got %d ids %v, want %d starting %s", len(ids), ids, tc.n, tc.first)
			}
		})
	}
}

func TestRecommendJSON(t *testing.T) {
	h := serve.NewHandler(testModel(t, "pop-7"), nil)
	for _, accept := range []string{"application/json", "text/html;q=0.9, application/json;q=0.8"} {
		rec := do(t, h, "GET", "/recommend/1", accept)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("Accept %q: status %d, type %q", accept, rec.Code, rec.Header().Get("Content-Type"))
		}
		var got serve.Response
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.User != "1" || got.Model != "pop-7" || got.Fallback || len(got.Items) != serve.MaxItems {
			t.Fatalf("response %+v", got)
		}
		if got.Items[0].Item != "m01" || got.Items[0].Score <= got.Items[19].Score {
			t.Errorf("items not best first without seen: %+v", got.Items[:2])
		}
		if !strings.Contains(rec.Body.String(), `"id":"m01"`) {
			t.Errorf("body %s lacks the id field", rec.Body)
		}
	}
	if rec := do(t, h, "GET", "/recommend/1", "application/json;q=0"); !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("q=0 JSON still got %q", rec.Header().Get("Content-Type"))
	}
}

func TestErrors(t *testing.T) {
	h := serve.NewHandler(testModel(t, "v"), nil)
	tests := []struct {
		name, method, target string
		status               int
		reason               string
	}{
		{"non-integer id", "GET", "/recommend/abc", 400, "invalid_user_id"},
		{"negative id", "GET", "/recommend/-1", 400, "invalid_user_id"},
		{"huge id", "GET", "/recommend/" + strings.Repeat("9", 40), 400, "invalid_user_id"},
		{"encoded junk", "GET", "/recommend/1%2C2", 400, "invalid_user_id"},
		{"unknown route", "GET", "/nope", 404, "not_found"},
		{"extra segment", "GET", "/recommend/1/2", 404, "not_found"},
		{"no id", "GET", "/recommend/", 404, "not_found"},
		{"POST recommend", "POST", "/recommend/1", 405, "method_not_allowed"},
		{"DELETE healthz", "DELETE", "/healthz", 405, "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, h, tc.method, tc.target, "")
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			var body serve.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Reason != tc.reason || body.Error == "" {
				t.Fatalf("body %q (%v), want reason %q", rec.Body, err, tc.reason)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("missing nosniff")
			}
			if tc.status == 405 && rec.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestProbesAndSwap(t *testing.T) {
	h := serve.NewHandler(nil, nil)
	if rec := do(t, h, "GET", "/healthz", ""); rec.Code != 200 || rec.Body.String() != "ok\n" {
		t.Fatalf("healthz = %d %q", rec.Code, rec.Body)
	}
	if rec := do(t, h, "GET", "/readyz", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz without model = %d", rec.Code)
	}
	if rec := do(t, h, "GET", "/recommend/1", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("recommend without model = %d", rec.Code)
	}
	h.SetModel(testModel(t, "v1"))
	if rec := do(t, h, "GET", "/readyz", ""); rec.Code != 200 {
		t.Fatalf("readyz with model = %d", rec.Code)
	}
	if old := h.Swap(testModel(t, "v2")); old == nil || old.Version() != "v1" {
		t.Fatalf("Swap returned %v, want v1", old)
	}
	rec := do(t, h, "GET", "/recommend/5", "application/json")
	if !strings.Contains(rec.Body.String(), `"model":"v2"`) {
		t.Fatalf("after Swap body = %s", rec.Body)
	}
}

// popModel is a popularity model whose order is ids as given; different
// orders tell two models' answers apart.
func popModel(tb testing.TB, version string, ids ...string) *recommender.Model {
	tb.Helper()
	var in []recommender.Interaction
	for i, id := range ids {
		for u := range len(ids) - i {
			in = append(in, recommender.Interaction{User: fmt.Sprint(1000 + u), Item: id, Weight: 1})
		}
	}
	return recommender.TrainPopularity(in, version)
}

// TestSwapUnderLoad swaps models while goroutines request: every answer is
// 200 and wholly one model's (the version in the body names the items).
func TestSwapUnderLoad(t *testing.T) {
	models := []*recommender.Model{popModel(t, "a", "x", "y", "z"), popModel(t, "b", "z", "y", "x")}
	want := map[string]string{"a": "x", "b": "z"}
	h := serve.New(models[0], serve.Config{CacheSize: 64})
	srv := httptest.NewServer(h)
	defer srv.Close()
	stop := make(chan struct{})
	swapped := make(chan int)
	go func() {
		n := 0
		for ; ; n++ {
			select {
			case <-stop:
				swapped <- n
				return
			default:
				h.Swap(models[n%2])
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				if err := checkAnswer(srv, fmt.Sprint(g*100+i%20), want); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if n := <-swapped; n < 2 {
		t.Errorf("only %d swaps happened during the load", n)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func checkAnswer(srv *httptest.Server, user string, firstByModel map[string]string) error {
	req, _ := http.NewRequest("GET", srv.URL+"/recommend/"+user, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var got serve.Response
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("user %s: status %d, decode %v", user, resp.StatusCode, err)
	}
	first, ok := firstByModel[got.Model]
	if !ok || len(got.Items) == 0 || got.Items[0].Item != first || got.User != user {
		return fmt.Errorf("user %s: answer %+v mixes models", user, got)
	}
	return nil
}

// TestCacheInvalidatedBySwap: a cached answer of model A is never served
// after B is swapped in, in either format.
func TestCacheInvalidatedBySwap(t *testing.T) {
	h := serve.New(popModel(t, "A", "x", "y"), serve.Config{})
	for range 2 { // miss, then hit
		if body := do(t, h, "GET", "/recommend/5", "").Body.String(); body != "x,y\n" {
			t.Fatalf("model A answered %q", body)
		}
		if body := do(t, h, "GET", "/recommend/5", "application/json").Body.String(); !strings.Contains(body, `"model":"A"`) {
			t.Fatalf("model A JSON %s", body)
		}
	}
	h.Swap(popModel(t, "B", "y", "x"))
	if body := do(t, h, "GET", "/recommend/5", "").Body.String(); body != "y,x\n" {
		t.Fatalf("after swap to B: %q", body)
	}
	if body := do(t, h, "GET", "/recommend/5", "application/json").Body.String(); !strings.Contains(body, `"model":"B"`) {
		t.Fatalf("after swap to B, JSON %s", body)
	}
	metrics := do(t, h, "GET", "/metrics", "").Body.String()
	for _, line := range []string{
		"reelguard_recommender_cache_hits_total 2",
		"reelguard_recommender_cache_misses_total 4",
		`reelguard_recommender_requests_total{code="200"} 6`,
		"reelguard_recommender_model_swaps_total 1",
		`reelguard_recommender_model_info{kind="popularity",version="B"} 1`,
		"reelguard_recommender_request_duration_seconds_count 6",
		"reelguard_recommender_model_swap_failures_total 0",
	} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
	if strings.Contains(metrics, `version="A"`) {
		t.Error("model info still names A")
	}
}

func TestCacheOff(t *testing.T) {
	h := serve.New(popModel(t, "A", "x"), serve.Config{CacheSize: -1})
	for range 3 {
		do(t, h, "GET", "/recommend/5", "")
	}
	metrics := do(t, h, "GET", "/metrics", "").Body.String()
	if !strings.Contains(metrics, "reelguard_recommender_cache_misses_total 3\n") || !strings.Contains(metrics, "reelguard_recommender_cache_hits_total 0\n") {
		t.Errorf("cache off still hit:\n%s", metrics)
	}
}

func TestErrorCodesCounted(t *testing.T) {
	h := serve.New(nil, serve.Config{})
	do(t, h, "GET", "/recommend/x", "")
	do(t, h, "GET", "/recommend/1", "")
	metrics := do(t, h, "GET", "/metrics", "").Body.String()
	for _, line := range []string{`reelguard_recommender_requests_total{code="400"} 1`, `reelguard_recommender_requests_total{code="503"} 1`} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
}

func TestPopular(t *testing.T) {
	m := recommender.TrainPopularity([]recommender.Interaction{
		{User: "1", Item: "a", Weight: 1}, {User: "2", Item: "a", Weight: 1}, {User: "2", Item: "b", Weight: 1},
	}, "v1")
	h := serve.NewHandler(m, nil)
	rec := do(t, h, "GET", "/popular", "")
	var got serve.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("GET /popular: %d %s (%v)", rec.Code, rec.Body, err)
	}
	if got.Model != "v1" || len(got.Items) != 2 || got.Items[0].Item != "a" || got.Items[1].Item != "b" {
		t.Errorf("GET /popular = %+v, want a then b from v1", got)
	}
	if rec := do(t, serve.NewHandler(nil, nil), "GET", "/popular", ""); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("no model: %d, want 503", rec.Code)
	}
}
