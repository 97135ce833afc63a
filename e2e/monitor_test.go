package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMonitorReadsTheGatewaysLog runs the gateway, the recommender and
// `recommender monitor` against one broker: answers served through the
// gateway reach the monitor with the model version that produced them,
// watches posted to /events convert them, and the monitor's online quality
// for that version is the share converted.
func TestMonitorReadsTheGatewaysLog(t *testing.T) {
	s := newEventsStack(t)
	monAddr := addr(t)
	mon := start(t, []string{"REELGUARD_DATA=" + s.data}, "recommender", "monitor", "--brokers", s.broker,
		"--listen", monAddr, "--within", "3s", "--window", "10m", "--keys", filepath.Join(s.data, "keys"),
		"--state", filepath.Join(s.data, "state", "monitor"))
	waitOK(t, http.DefaultClient, "http://"+monAddr+"/healthz", mon)

	svc := strings.TrimSpace(run(t, []string{"REELGUARD_DATA=" + s.data}, "gateway", "token", "--sub", "frontend", "--role", "service"))
	first, version := map[int]string{}, ""
	for user := 1; user <= 6; user++ {
		v, items := s.recommendJSON(t, svc, user)
		if version != "" && v != version {
			t.Fatalf("answers from two versions, %q and %q", version, v)
		}
		version, first[user] = v, items[0]
	}
	time.Sleep(1100 * time.Millisecond) // the watches' second-resolution times fall after the answers
	var watches []string
	for user := 1; user <= 3; user++ {
		watches = append(watches, watchLine(user, first[user], 0))
	}
	if code, err := s.post(watches); err != nil || code != http.StatusAccepted {
		t.Fatalf("POST /events: %d %v", code, err)
	}
	time.Sleep(3 * time.Second)
	s.recommendJSON(t, svc, 7) // moves the monitor's clock past the first answers' 3 s

	want := fmt.Sprintf(`reelguard_online_quality{version=%q} 0.5`, version)
	var last string
	waitFor(t, "the monitor's quality for "+version, func() bool {
		last = scrape(t, "http://"+monAddr+"/metrics", "reelguard_online_quality{")
		return strings.Contains(last, want)
	})
	if strings.Contains(last, `version="unknown"`) {
		t.Errorf("the monitor saw answers without a model version:\n%s", last)
	}
}

// recommendJSON asks the gateway for user's list and returns the model
// version and the ids.
func (s *eventsStack) recommendJSON(t *testing.T, token string, user int) (string, []string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/recommend/%d", s.gwURL, user), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Model string `json:"model"`
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK || len(doc.Items) == 0 {
		t.Fatalf("user %d: %d %+v %v", user, resp.StatusCode, doc, err)
	}
	if h := resp.Header.Get("X-Reelguard-Model"); h != doc.Model || h == "" {
		t.Fatalf("user %d: header names %q, body %q", user, h, doc.Model)
	}
	ids := make([]string, len(doc.Items))
	for i, it := range doc.Items {
		ids[i] = it.ID
	}
	return doc.Model, ids
}

// scrape returns the lines of a Prometheus page that start with prefix.
func scrape(t *testing.T, url, prefix string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			b.WriteString(sc.Text() + "\n")
		}
	}
	return b.String()
}
