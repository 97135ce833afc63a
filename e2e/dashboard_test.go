package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/gateway/dashboard"
)

// Where Debian's chromium and chromium-driver packages put the browser and
// its WebDriver server.
const (
	chromiumPath     = "/usr/bin/chromium"
	chromedriverPath = "/usr/bin/chromedriver"
)

// chromiumFlags run the browser headless, as root, without calls home.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"}

// Hostile strings the test plants in alerts and blocks: the page must show
// them as text, never parse them as markup.
const (
	hostileModule  = `<img src=x onerror=alert(1)>.rego`
	hostileSubject = `<script>alert("pwned")</script>`
	blockedIP      = "203.0.113.7"
)

// adminGateway is one gateway serve process, for tests of its admin listener.
type adminGateway struct {
	admin  string // admin base URL
	public string // public base URL
	token  string // an admin token
	client *http.Client
	env    []string
}

// newAdminGateway starts one gateway on the shared Redis and broker, with an
// upstream nobody listens on: the admin listener is what is under test.
func newAdminGateway(t *testing.T) *adminGateway {
	t.Helper()
	return newAdminGatewayTo(t, "http://"+addr(t))
}

// newAdminGatewayTo is newAdminGateway in front of upstream.
func newAdminGatewayTo(t *testing.T, upstream string) *adminGateway {
	t.Helper()
	data := t.TempDir()
	env := []string{"REELGUARD_DATA=" + data, "REELGUARD_REDIS_URL=" + redisURL, "REELGUARD_KAFKA_BROKERS=" + brokers}
	run(t, env, "gateway", "keys")
	listen, admin := addr(t), addr(t)
	gw := start(t, append(env, "REELGUARD_LISTEN="+listen, "REELGUARD_ADMIN_LISTEN="+admin,
		"REELGUARD_UPSTREAM="+upstream, "REELGUARD_INSTANCE=e2e-dashboard"), "gateway", "serve")
	waitOK(t, http.DefaultClient, "http://"+admin+"/healthz", gw)
	tok := strings.TrimSpace(run(t, env, "gateway", "token", "--sub", "ops", "--role", "admin"))
	return &adminGateway{admin: "http://" + admin, public: "https://" + listen, token: tok,
		client: tlsClient(t, data, 10*time.Second), env: env}
}

// do sends an admin request and returns the status and body.
func (g *adminGateway) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, g.admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// dashboardOrigin is where the page and the admin API share an origin: the
// admin listener itself once gateway.AdminHandler mounts the dashboard;
// until then a local server with dashboard.Handler that proxies the admin
// API and /metrics to the gateway.
func dashboardOrigin(t *testing.T, admin string) string {
	t.Helper()
	if resp, err := http.Get(admin + dashboard.Prefix); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return admin
		}
	}
	target, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	mux := http.NewServeMux()
	mux.Handle("GET "+dashboard.Prefix, dashboard.Handler())
	mux.Handle("/admin/", proxy)
	mux.Handle("GET /metrics", proxy)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() }) // the page's alert stream never ends by itself
	return srv.URL
}

// chromium runs headless Chromium on url with extra flags and returns its
// standard output.
func chromium(t *testing.T, url string, flags ...string) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("no %s: run make test to install chromium", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append(append(append([]string(nil), chromiumFlags...),
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=5000"), flags...)
	cmd := exec.CommandContext(ctx, chromiumPath, append(args, url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(flags, " "), err, stderr.String())
	}
	return stdout.String()
}

// raiseHostileAlerts plants attacker-looking strings: a policy edit whose
// module name is markup (rejected: it does not compile, so the policy alert
// quotes it), a blocked subject that is a script tag, and a blocked IP.
func raiseHostileAlerts(t *testing.T, g *adminGateway) {
	t.Helper()
	code, body := g.do(t, http.MethodPut, "/admin/policy?file="+url.QueryEscape(hostileModule), "package reelguard.authz\nallow if {")
	if code != http.StatusUnprocessableEntity && code != http.StatusBadRequest {
		t.Fatalf("broken policy edit: %d %s, want a rejection", code, body)
	}
	for _, path := range []string{"/admin/blocks/subject/" + url.PathEscape(hostileSubject), "/admin/blocks/ip/" + blockedIP} {
		if code, body := g.do(t, http.MethodPut, path+"?ttl=1h", ""); code != http.StatusNoContent {
			t.Fatalf("PUT %s: %d %s", path, code, body)
		}
	}
	code, body = g.do(t, http.MethodGet, "/admin/alerts", "")
	if code != http.StatusOK || !strings.Contains(body, "onerror=alert(1)") {
		t.Fatalf("/admin/alerts = %d %s, want the rejected edit's alert naming the module", code, body)
	}
	// A refused public request, so the request counters have a 401.
	if resp, err := g.client.Get(g.public + "/recommend/1"); err == nil {
		resp.Body.Close()
	}
}

// readAsPrincipals makes the traffic the Principals section shows: a user
// reading its own list (the upstream names its model version), a front end
// reading five users' lists, and the blocked hostile subject trying to.
func readAsPrincipals(t *testing.T, g *adminGateway) {
	t.Helper()
	for _, p := range []struct {
		sub, role string
		targets   []string
	}{
		{"4242", "user", []string{"4242"}},
		{"frontend", "service", []string{"1", "2", "3", "4", "5"}},
		{hostileSubject, "service", []string{"6"}},
	} {
		tok := strings.TrimSpace(run(t, g.env, "gateway", "token", "--sub", p.sub, "--role", p.role))
		for _, target := range p.targets {
			req, _ := http.NewRequest(http.MethodGet, g.public+"/recommend/"+target, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := g.client.Do(req)
			if err != nil {
				t.Fatalf("%s reading %s: %v", p.sub, target, err)
			}
			resp.Body.Close()
		}
	}
}

func TestDashboard(t *testing.T) {
	g := newAdminGatewayTo(t, stubRecommender(t))
	raiseHostileAlerts(t, g)
	readAsPrincipals(t, g)
	page := dashboardOrigin(t, g.admin) + dashboard.Prefix + "#token=" + url.QueryEscape(g.token)

	dom := chromium(t, page, "--dump-dom")
	checkDashboardDOM(t, dom)

	shot := filepath.Join(t.TempDir(), "dashboard.png")
	chromium(t, page, "--screenshot="+shot, "--window-size=1280,1100", "--hide-scrollbars")
	checkPNG(t, shot)
}

func checkDashboardDOM(t *testing.T, dom string) {
	t.Helper()
	wants := map[string]string{
		"an alert row":                     `data-alert-id="`,
		"the policy alert":                 `<td>policy</td>`,
		"the module name as text":          `&lt;img src=x onerror=alert(1)&gt;.rego`,
		"the hostile subject as text":      `<td>&lt;script&gt;alert("pwned")&lt;/script&gt;</td>`,
		"the blocked IP":                   `<td>` + blockedIP + `</td>`,
		"an unblock button":                `>Unblock</button>`,
		"the live stream state":            `id="stream-state" class="pill live">live<`,
		"the policy revision":              `id="policy-revision">`,
		"the request counter by code":      `<dt>Requests 401</dt>`,
		"the limiter gauge":                `<dt>Limiter</dt>`,
		"the broker gauge":                 `<dt>Kafka broker</dt>`,
		"no error shown (the token works)": `id="error" role="alert" hidden=""`,
		"the model version":                `id="model-version">scenario-1<`,
		"the front end by distinct users":  `<td>frontend</td><td>service</td><td>5</td><td>1500</td>`,
		"the hostile subject by requests":  `<td>&lt;script&gt;alert("pwned")&lt;/script&gt;</td><td>service</td><td>1</td>`,
	}
	for what, want := range wants {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %s: no %q", what, want)
		}
	}
	if strings.Contains(dom, `id="policy-revision">–<`) {
		t.Error("the policy revision was not loaded")
	}
	injected := map[string]*regexp.Regexp{
		"img element":     regexp.MustCompile(`(?i)<img`),
		"onerror handler": regexp.MustCompile(`(?i)<[^>]*\sonerror=`),
		"second script":   regexp.MustCompile(`(?i)<script[^>]*>[\s\S]*<script`),
	}
	for what, re := range injected {
		if re.MatchString(dom) {
			t.Errorf("the page has an injected %s:\n%s", what, dom)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() == 0 || b.Dy() == 0 {
		t.Fatalf("screenshot is empty: %v", b)
	}
	if dir := os.Getenv("REELGUARD_TEST_ARTIFACTS"); dir != "" {
		b, _ := os.ReadFile(path)
		if err := os.WriteFile(filepath.Join(dir, "dashboard.png"), b, 0o644); err != nil {
			t.Errorf("keep the screenshot: %v", err)
		}
	}
}

// TestDashboardLive drives the page in Chromium through chromedriver: an
// alert raised while the page is open arrives over the stream, and the
// Unblock button lifts a block.
func TestDashboardLive(t *testing.T) {
	g := newAdminGateway(t)
	raiseHostileAlerts(t, g)
	origin := dashboardOrigin(t, g.admin)
	wd := newWebDriver(t) // stopped before the origin closes
	wd.open(t, origin+dashboard.Prefix+"#token="+url.QueryEscape(g.token))
	kinds := `return [...document.querySelectorAll("#alerts tbody tr[data-alert-id] td:nth-child(2)")].map(td => td.textContent).join(",")`
	wd.waitFor(t, "the policy alert on the page", func() bool { return strings.Contains(wd.eval(t, kinds), "policy") })

	// A user's request to the unreachable upstream raises an upstream alert.
	user := strings.TrimSpace(run(t, g.env, "gateway", "token", "--sub", "4242", "--role", "user"))
	req, _ := http.NewRequest(http.MethodGet, g.public+"/recommend/4242", nil)
	req.Header.Set("Authorization", "Bearer "+user)
	raised := time.Now()
	if resp, err := g.client.Do(req); err != nil {
		t.Fatalf("request to the public listener: %v", err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("request with the upstream down: %d, want 503", resp.StatusCode)
	}
	wd.waitFor(t, "the upstream alert over the stream", func() bool { return strings.HasPrefix(wd.eval(t, kinds), "upstream,") })
	t.Logf("upstream alert shown %v after it was raised", time.Since(raised).Round(time.Millisecond))

	wd.click(t, `//table[@id="blocks"]//tr[td="`+blockedIP+`"]//button[.="Unblock"]`)
	wd.waitFor(t, "the block lifted", func() bool {
		_, body := g.do(t, http.MethodGet, "/admin/blocks", "")
		return !strings.Contains(body, blockedIP) && strings.Contains(body, "pwned")
	})
	wd.waitFor(t, "the blocks table redrawn", func() bool {
		rows := wd.eval(t, `return document.querySelector("#blocks tbody").textContent`)
		return strings.Contains(rows, "pwned") && !strings.Contains(rows, blockedIP)
	})
}

// webDriver is one chromedriver session (W3C WebDriver over HTTP).
type webDriver struct {
	base string // http://127.0.0.1:PORT/session/ID
}

func newWebDriver(t *testing.T) *webDriver {
	t.Helper()
	if _, err := os.Stat(chromedriverPath); err != nil {
		t.Fatalf("no %s: run make test to install chromium-driver", chromedriverPath)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: "chromedriver", cmd: exec.Command(chromedriverPath, "--port="+port),
		out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	server := "http://127.0.0.1:" + port
	waitOK(t, http.DefaultClient, server+"/status", p)
	args := append(append([]string(nil), chromiumFlags...), "--user-data-dir="+t.TempDir(), "--window-size=1280,1100")
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome", "goog:chromeOptions": map[string]any{"binary": chromiumPath, "args": args}}}}
	var session struct{ SessionID string }
	wdCall(t, http.MethodPost, server+"/session", caps, &session)
	wd := &webDriver{base: server + "/session/" + session.SessionID}
	t.Cleanup(func() { wdCall(t, http.MethodDelete, wd.base, nil, nil) })
	return wd
}

func (wd *webDriver) open(t *testing.T, page string) {
	t.Helper()
	wdCall(t, http.MethodPost, wd.base+"/url", map[string]string{"url": page}, nil)
}

// eval runs script in the page (WebDriver's, not subject to the page's CSP)
// and returns its string result.
func (wd *webDriver) eval(t *testing.T, script string) string {
	t.Helper()
	var out string
	wdCall(t, http.MethodPost, wd.base+"/execute/sync", map[string]any{"script": script, "args": []any{}}, &out)
	return out
}

// click clicks the element at xpath as a user would.
func (wd *webDriver) click(t *testing.T, xpath string) {
	t.Helper()
	var el map[string]string
	wdCall(t, http.MethodPost, wd.base+"/element", map[string]string{"using": "xpath", "value": xpath}, &el)
	for _, id := range el {
		wdCall(t, http.MethodPost, wd.base+"/element/"+id+"/click", map[string]any{}, nil)
		return
	}
	t.Fatalf("no element at %s", xpath)
}

// waitFor polls cond; the deadline catches a hang and is no timing claim.
func (wd *webDriver) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitFor(t, what, cond)
}

// wdCall sends one WebDriver command and decodes its "value" into out.
func wdCall(t *testing.T, method, endpoint string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, endpoint, body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("webdriver %s %s: %v", method, endpoint, err)
	}
	defer resp.Body.Close()
	var doc struct{ Value json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("webdriver %s %s: %d %s (%v)", method, endpoint, resp.StatusCode, doc.Value, err)
	}
	if out != nil {
		if err := json.Unmarshal(doc.Value, out); err != nil {
			t.Fatalf("webdriver %s %s: value %s: %v", method, endpoint, doc.Value, err)
		}
	}
}
