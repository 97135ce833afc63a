package gateway_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/gateway"
	"github.com/reelguard/reelguard/policy"
)

func (s *stack) alerts(t *testing.T, admin string) []anomaly.Alert {
	t.Helper()
	code, _, body := s.get(t, s.admin+"/admin/alerts", admin)
	var list []anomaly.Alert
	if err := json.Unmarshal([]byte(body), &list); code != http.StatusOK || err != nil {
		t.Fatalf("/admin/alerts: %d %s (%v)", code, body, err)
	}
	return list
}

func TestUpstreamAndPolicyAlerts(t *testing.T) {
	dead := listen(t)
	addr := dead.Addr().String()
	dead.Close()
	s := newStack(t, gateway.Config{Upstream: "http://" + addr}, nil)
	admin := s.token(t, "ops", "admin")
	if list := s.alerts(t, admin); len(list) != 0 {
		t.Fatalf("alerts before anything happened: %+v", list)
	}
	if code, _, _ := s.get(t, s.admin+"/admin/alerts", s.token(t, "42", "user")); code != http.StatusForbidden {
		t.Errorf("/admin/alerts as a user: %d, want 403", code)
	}
	s.get(t, s.url+"/recommend/42", s.token(t, "42", "user"))
	s.get(t, s.url+"/recommend/42", s.token(t, "42", "user")) // folded into the first
	s.put(t, s.admin+"/admin/policy?file=bad.rego", admin, "text/plain", "package reelguard.authz\nallow if {")

	list := s.alerts(t, admin)
	if len(list) != 2 || list[0].Kind != anomaly.KindPolicy || list[1].Kind != anomaly.KindUpstream {
		t.Fatalf("alerts %+v, want the policy alert then the upstream one (newest first)", list)
	}
	if list[0].Severity != anomaly.SeverityWarning || list[1].Evidence["repeats"] == nil {
		t.Errorf("policy alert %+v; upstream evidence %v (want repeats counted)", list[0], list[1].Evidence)
	}
}

func policyReport(revision string) policy.Report { return policy.Report{Revision: revision} }

func TestAlertStream(t *testing.T) {
	s := newStack(t, gateway.Config{}, nil)
	admin := s.token(t, "ops", "admin")
	s.gw.PolicyAlert(policyReport("r1"), nil, "test") // raised before subscribing: replayed first
	req, _ := http.NewRequest(http.MethodGet, s.admin+"/admin/alerts/stream", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := s.client.Do(req)
	must(t, err)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	got := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				got <- data
			}
		}
	}()
	// The second is a rejection: stronger than the first, so not folded into it.
	want := []string{`"revision":"r1"`, `"outcome":"rejected`}
	for i, w := range want {
		if i == 1 {
			s.gw.PolicyAlert(policyReport("r2"), errors.New("tests failed"), "test")
		}
		select {
		case data := <-got:
			if !strings.Contains(data, w) || !strings.Contains(data, `"kind":"policy"`) {
				t.Errorf("event %d = %s, want %s", i, data, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no event %d on the stream", i)
		}
	}
}
