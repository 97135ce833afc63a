package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// alertKinds are DESIGN.md's alert kinds: a rule's kind label is one.
var alertKinds = []string{"extraction", "dos", "signature", "poisoning", "policy", "limiter", "events", "upstream"}

// issue7Metrics are the figures issue 7 asks the rules and the dashboard to
// watch: requests by route and status, latency, limiter and policy
// decisions, Redis, Kafka and upstream health.
var issue7Metrics = []string{
	"reelguard_http_requests_total", "reelguard_http_request_duration_seconds_bucket",
	"reelguard_limiter_degraded", "reelguard_policy_edits_total",
	"reelguard_events_broker_up", "reelguard_upstream_errors_total",
}

// balanced reports whether (), {} and [] nest properly outside quotes.
func balanced(expr string) bool {
	var stack []rune
	pairs := map[rune]rune{')': '(', '}': '{', ']': '['}
	inQuote := false
	for _, r := range expr {
		switch {
		case r == '"':
			inQuote = !inQuote
		case inQuote:
		case r == '(' || r == '{' || r == '[':
			stack = append(stack, r)
		case pairs[r] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && !inQuote
}

func TestPrometheusRules(t *testing.T) {
	known := registeredMetrics(t)
	if !known["reelguard_http_requests_total"] {
		t.Fatalf("found no metric names in gateway/ (%d names): the scan is broken", len(known))
	}
	doc := readYAML(t, "deploy/prometheus/rules.yml")[0]
	seen := map[string]bool{}
	var all strings.Builder
	for _, g := range l(doc, "groups") {
		for _, r := range l(g, "rules") {
			name, expr := s(r, "alert"), s(r, "expr")
			all.WriteString(expr + "\n")
			switch {
			case name == "" || seen[name]:
				t.Errorf("group %s: rule without a unique alert name: %q", s(g, "name"), name)
			case expr == "" || !balanced(expr):
				t.Errorf("%s: empty or unbalanced expr %q", name, expr)
			case !strings.Contains(expr, "reelguard_") && !strings.Contains(expr, `up{job="reelguard-gateway"}`):
				t.Errorf("%s: watches no metric of ours", name)
			}
			seen[name] = true
			if bad := unknownMetrics(expr, known); len(bad) > 0 {
				t.Errorf("%s: %v are not registered by the gateway", name, bad)
			}
			labels := m(r, "labels")
			if sev := s(labels, "severity"); !slices.Contains([]string{"info", "warning", "critical"}, sev) {
				t.Errorf("%s: severity %q, want DESIGN.md's info, warning or critical", name, sev)
			}
			if kind := s(labels, "kind"); labels["kind"] != nil && !slices.Contains(alertKinds, kind) {
				t.Errorf("%s: kind %q is not one of DESIGN.md's", name, kind)
			}
			if s(m(r, "annotations"), "summary") == "" {
				t.Errorf("%s: no summary", name)
			}
		}
	}
	for _, want := range issue7Metrics {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no rule watches %s", want)
		}
	}
}

// TestPrometheusConfig: Prometheus scrapes the gateway's admin port under
// the job the rules name, and loads the rules file compose mounts.
func TestPrometheusConfig(t *testing.T) {
	doc := readYAML(t, "deploy/prometheus/prometheus.yml")[0]
	if !slices.Contains(l(doc, "rule_files"), any("/etc/prometheus/rules.yml")) {
		t.Errorf("rule_files %v does not load /etc/prometheus/rules.yml", l(doc, "rule_files"))
	}
	var targets []any
	for _, sc := range l(doc, "scrape_configs") {
		if s(sc, "job_name") == "reelguard-gateway" {
			for _, st := range l(sc, "static_configs") {
				targets = append(targets, l(st, "targets")...)
			}
		}
	}
	if !slices.Contains(targets, any("gateway:"+adminPort)) {
		t.Errorf("job reelguard-gateway scrapes %v, want gateway:%s", targets, adminPort)
	}
	_, services := loadCompose(t)
	mounts := l(services["prometheus"].def, "volumes")
	for _, want := range []string{"./deploy/prometheus/rules.yml:/etc/prometheus/rules.yml:ro", "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"} {
		if !slices.Contains(mounts, any(want)) {
			t.Errorf("compose's prometheus does not mount %s", want)
		}
	}
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	UID        string `json:"uid"`
	Templating struct {
		List []struct{ Name, Type string }
	}
	Panels []struct {
		ID         int
		Type       string
		Title      string
		Datasource struct{ UID string }
		Targets    []struct{ Expr string }
	}
}

func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "deploy/grafana/reelguard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("reelguard.json: %v", err)
	}
	if d.UID == "" || len(d.Panels) < 10 {
		t.Fatalf("dashboard uid %q with %d panels", d.UID, len(d.Panels))
	}
	if !slices.ContainsFunc(d.Templating.List, func(v struct{ Name, Type string }) bool { return v.Name == "datasource" && v.Type == "datasource" }) {
		t.Error("no datasource variable for the panels' ${datasource}")
	}
	known, ids := registeredMetrics(t), map[int]bool{}
	var all strings.Builder
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %q, %d queries", p.Title, p.Datasource.UID, len(p.Targets))
		}
		for _, q := range p.Targets {
			all.WriteString(q.Expr + "\n")
			if bad := unknownMetrics(q.Expr, known); len(bad) > 0 || !balanced(q.Expr) || !strings.Contains(q.Expr, "reelguard_") && !strings.Contains(q.Expr, "up{") {
				t.Errorf("panel %q: query %q (unknown metrics %v)", p.Title, q.Expr, bad)
			}
		}
	}
	for _, want := range append(issue7Metrics, "reelguard_auth_failures_total", "reelguard_policy_denials_total", "reelguard_rate_limited_total") {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no panel shows %s", want)
		}
	}
}

// TestGrafanaProvisioning: compose's Grafana reads the Prometheus service
// and finds the dashboard where the provider looks.
func TestGrafanaProvisioning(t *testing.T) {
	ds := readYAML(t, "deploy/grafana/provisioning/datasources/prometheus.yml")[0]
	src := l(ds, "datasources")
	if len(src) != 1 || s(src[0], "url") != "http://prometheus:9090" || s(src[0], "uid") != "prometheus" {
		t.Errorf("datasources %v: want uid prometheus at http://prometheus:9090", src)
	}
	dash := readYAML(t, "deploy/grafana/provisioning/dashboards/reelguard.yml")[0]
	dir := s(m(l(dash, "providers")[0], "options"), "path")
	_, services := loadCompose(t)
	if want := "./deploy/grafana/reelguard.json:" + dir + "/reelguard.json:ro"; !slices.Contains(l(services["grafana"].def, "volumes"), any(want)) {
		t.Errorf("compose's grafana does not mount %s", want)
	}
}
