package deploy

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/reelguard/reelguard/auth"
	"github.com/reelguard/reelguard/certs"
	"github.com/reelguard/reelguard/events"
)

// internalCADir is where `gateway keys` makes the internal mTLS CA in a data
// folder (cmd/gateway's internalCADir; TestCodeAgrees checks both binaries
// name it).
const internalCADir = "keys/internal-ca"

// keyFiles are the files `gateway keys` writes: their names as Secret keys
// (flat, as deploy/k8s/secrets holds them) and their paths in a data folder.
var keyFiles = map[string]string{
	auth.PrivateKeyFile:      path.Join("keys", auth.PrivateKeyFile),
	auth.JWKSFile:            path.Join("keys", auth.JWKSFile),
	events.PrivateKeyFile:    path.Join("keys", events.PrivateKeyFile),
	events.KeysetFile:        path.Join("keys", events.KeysetFile),
	events.RequestLogKeyFile: path.Join("keys", events.RequestLogKeyFile),
	certs.CACertFile:         path.Join("ca", certs.CACertFile),
	certs.CAKeyFile:          path.Join("ca", certs.CAKeyFile),
	"internal-ca.pem":        path.Join(internalCADir, certs.CACertFile),
	"internal-ca.key":        path.Join(internalCADir, certs.CAKeyFile),
}

// recommenderKeys are all the recommender may hold: the public events
// keyset it verifies movielog with, and the internal CA it issues its mTLS
// leaf from. Never the JWT, event-signing or dev CA private keys.
var recommenderKeys = []string{events.KeysetFile, "internal-ca.key", "internal-ca.pem"}

// keyName returns the Secret key of a data-folder path, or "".
func keyName(dataPath string) string {
	for name, p := range keyFiles {
		if p == dataPath {
			return name
		}
	}
	return ""
}

// composeService is one service of compose.yaml, with its binary when it
// runs one of ours.
type composeService struct {
	name, bin string
	def       map[string]any
}

func (c composeService) env() map[string]string {
	out := map[string]string{}
	for k := range m(c.def, "environment") {
		out[k] = s(m(c.def, "environment"), k)
	}
	return out
}

func (c composeService) networks() []string {
	var out []string
	for _, n := range l(c.def, "networks") {
		out = append(out, n.(string))
	}
	return out
}

func loadCompose(t testing.TB) (map[string]any, map[string]composeService) {
	t.Helper()
	docs := readYAML(t, "compose.yaml")
	if len(docs) != 1 {
		t.Fatalf("compose.yaml holds %d documents", len(docs))
	}
	services := map[string]composeService{}
	for name, def := range m(docs[0], "services") {
		svc := composeService{name: name, def: def.(map[string]any)}
		if img, ok := strings.CutPrefix(s(def, "image"), "reelguard/"); ok {
			svc.bin, _, _ = strings.Cut(img, ":")
		}
		services[name] = svc
	}
	return docs[0], services
}

func TestComposeImages(t *testing.T) {
	_, services := loadCompose(t)
	stages := parseDockerfile(t, dockerfile)
	images := map[string]string{"gateway": "reelguard/gateway:", "recommender": "reelguard/recommender:",
		"redis": "redis:", "kafka": "apache/kafka:", "prometheus": "prom/prometheus:", "grafana": "grafana/grafana:"}
	for name, prefix := range images {
		svc, ok := services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if img := s(svc.def, "image"); !strings.HasPrefix(img, prefix) || strings.HasSuffix(img, ":latest") {
			t.Errorf("%s: image %q, want a pinned %s...", name, img, prefix)
		}
		if restart := s(svc.def, "restart"); m(svc.def, "healthcheck") == nil && restart != "no" {
			t.Errorf("%s: a long-running service without a healthcheck", name)
		}
	}
	for _, svc := range services {
		if b := m(svc.def, "build"); b != nil {
			if s(b, "dockerfile") != dockerfile || stages[s(b, "target")] == nil || s(b, "target") != svc.bin {
				t.Errorf("%s: build %v does not name a stage of %s for its image", svc.name, b, dockerfile)
			}
		}
	}
	kafka := services["kafka"].env()
	if roles := kafka["KAFKA_PROCESS_ROLES"]; !strings.Contains(roles, "controller") || !strings.Contains(roles, "broker") {
		t.Errorf("kafka roles %q: want KRaft (broker,controller)", roles)
	}
	if _, zk := kafka["KAFKA_ZOOKEEPER_CONNECT"]; zk {
		t.Error("kafka uses ZooKeeper, want KRaft")
	}
}

// TestComposeRunsAsNonRoot checks every service that runs our binaries.
func TestComposeRunsAsNonRoot(t *testing.T) {
	_, services := loadCompose(t)
	ours := 0
	for _, svc := range services {
		if svc.bin == "" {
			continue
		}
		ours++
		if uid, _, _ := strings.Cut(s(svc.def, "user"), ":"); uid == "" || uid == "0" || uid == "root" {
			t.Errorf("%s: user %q, want a non-root uid", svc.name, s(svc.def, "user"))
		}
		if s(svc.def, "read_only") != "true" || !slices.Contains(l(svc.def, "cap_drop"), any("ALL")) {
			t.Errorf("%s: want read_only and cap_drop ALL", svc.name)
		}
	}
	if ours < 2 {
		t.Fatalf("only %d services run reelguard images", ours)
	}
}

// TestComposeVariables checks that each of our services sets only
// variables its binary reads, and that the addresses agree with each other
// and with DESIGN.md's ports.
func TestComposeVariables(t *testing.T) {
	doc, services := loadCompose(t)
	for _, svc := range services {
		if svc.bin == "" {
			continue
		}
		read := envRead(t, svc.bin)
		for name := range svc.env() {
			if strings.HasPrefix(name, "REELGUARD_") && !read[name] {
				t.Errorf("%s: sets %s, which cmd/%s does not read", svc.name, name, svc.bin)
			}
		}
	}
	gw, rec := services["gateway"].env(), services["recommender"].env()
	checkPort(t, "gateway REELGUARD_LISTEN", gw["REELGUARD_LISTEN"], gatewayPort)
	checkPort(t, "gateway REELGUARD_ADMIN_LISTEN", gw["REELGUARD_ADMIN_LISTEN"], adminPort)
	checkPort(t, "recommender REELGUARD_RECOMMENDER_LISTEN", rec["REELGUARD_RECOMMENDER_LISTEN"], recommenderPort)
	if want := "recommender:" + recommenderPort; gw["REELGUARD_RECOMMENDER_LISTEN"] != want {
		t.Errorf("gateway's upstream %q, want %q", gw["REELGUARD_RECOMMENDER_LISTEN"], want)
	}
	published := l(services["gateway"].def, "ports")
	if !slices.Contains(published, any(gatewayPort+":"+gatewayPort)) || !slices.Contains(published, any("127.0.0.1:"+adminPort+":"+adminPort)) {
		t.Errorf("gateway publishes %v: want %s to all, the admin port %s on loopback only", published, gatewayPort, adminPort)
	}
	if p := l(services["recommender"].def, "ports"); len(p) != 0 {
		t.Errorf("the recommender publishes %v: only the gateway may reach it", p)
	}
	checkBrokers(t, services, gw["REELGUARD_KAFKA_BROKERS"])
	if rec["REELGUARD_KAFKA_BROKERS"] != gw["REELGUARD_KAFKA_BROKERS"] {
		t.Errorf("recommender brokers %q, gateway's %q", rec["REELGUARD_KAFKA_BROKERS"], gw["REELGUARD_KAFKA_BROKERS"])
	}
	u, err := url.Parse(gw["REELGUARD_REDIS_URL"])
	if err != nil || u.Scheme != "redis" || u.Port() != "6379" || !strings.HasPrefix(s(services[u.Hostname()].def, "image"), "redis:") {
		t.Errorf("gateway REELGUARD_REDIS_URL %q does not name the redis service (%v)", gw["REELGUARD_REDIS_URL"], err)
	}
	if m(doc, "networks") == nil {
		t.Error("no networks: every service could reach the recommender")
	}
}

func checkPort(t *testing.T, what, addr, want string) {
	t.Helper()
	if _, port, err := net.SplitHostPort(addr); err != nil || port != want {
		t.Errorf("%s = %q, want port %s (DESIGN.md)", what, addr, want)
	}
}

// checkBrokers checks that every broker address is one Kafka advertises.
func checkBrokers(t *testing.T, services map[string]composeService, brokers string) {
	t.Helper()
	for _, b := range strings.Split(brokers, ",") {
		host, port, err := net.SplitHostPort(b)
		kafka, ok := services[host]
		if err != nil || !ok || port != kafkaPort || !strings.Contains(kafka.env()["KAFKA_ADVERTISED_LISTENERS"], "//"+b) {
			t.Errorf("broker %q: not a kafka service advertising it on %s", b, kafkaPort)
		}
	}
}

// TestComposeNetworks: only the gateway (and Kafka, which the recommender
// consumes from) share a network with the recommender.
func TestComposeNetworks(t *testing.T) {
	_, services := loadCompose(t)
	rec := services["recommender"].networks()
	shares := func(a, b string) bool {
		for _, n := range services[a].networks() {
			if slices.Contains(services[b].networks(), n) {
				return true
			}
		}
		return false
	}
	for name, svc := range services {
		if name == "recommender" || name == "gateway" || name == "kafka" || s(svc.def, "network_mode") == "none" {
			continue
		}
		for _, n := range svc.networks() {
			if slices.Contains(rec, n) {
				t.Errorf("%s shares network %s with the recommender", name, n)
			}
		}
	}
	for _, pair := range [][2]string{{"gateway", "recommender"}, {"gateway", "redis"}, {"gateway", "kafka"},
		{"recommender", "kafka"}, {"prometheus", "gateway"}, {"grafana", "prometheus"}} {
		if !shares(pair[0], pair[1]) {
			t.Errorf("%s cannot reach %s: no shared network", pair[0], pair[1])
		}
	}
}

// TestComposeSecrets checks that the key files come in as secrets from the
// data folder `gateway keys --data deploy/secrets` makes, at the paths the
// binaries read, and that the recommender gets only what it needs.
func TestComposeSecrets(t *testing.T) {
	doc, services := loadCompose(t)
	files := map[string]string{} // secret name -> file
	for name, def := range m(doc, "secrets") {
		files[name] = path.Clean(s(def, "file"))
		if !strings.HasPrefix(files[name], "deploy/secrets/") {
			t.Errorf("secret %s from %s, want deploy/secrets/ (ignored by git and docker)", name, files[name])
		}
	}
	for _, svcName := range []string{"gateway", "recommender"} {
		svc := services[svcName]
		var got []string
		for _, sec := range l(svc.def, "secrets") {
			file, ok := files[s(sec, "source")]
			dataPath := strings.TrimPrefix(file, "deploy/secrets/")
			name := keyName(dataPath)
			switch {
			case !ok:
				t.Errorf("%s: secret %v is not defined", svcName, sec)
			case name == "":
				t.Errorf("%s: secret file %s is none that `gateway keys` makes", svcName, file)
			case s(sec, "target") != path.Join(svc.env()["REELGUARD_DATA"], dataPath):
				t.Errorf("%s: secret %s mounted at %s, want $REELGUARD_DATA/%s", svcName, s(sec, "source"), s(sec, "target"), dataPath)
			}
			got = append(got, name)
		}
		checkKeySet(t, svcName, got)
	}
}

// checkKeySet: the gateway gets every key file, the recommender only
// recommenderKeys.
func checkKeySet(t *testing.T, who string, got []string) {
	t.Helper()
	slices.Sort(got)
	switch who {
	case "gateway":
		for f := range keyFiles {
			if !slices.Contains(got, f) {
				t.Errorf("%s: no %s", who, f)
			}
		}
	case "recommender":
		if !slices.Equal(got, recommenderKeys) {
			t.Errorf("%s gets %v, want only %v", who, got, recommenderKeys)
		}
	default:
		t.Errorf("%s gets keys %v", who, got)
	}
}

// TestComposeMTLS: both ends agree on mTLS, and the recommender's health
// check presents a client certificate when it is on.
func TestComposeMTLS(t *testing.T) {
	_, services := loadCompose(t)
	gw, rec := services["gateway"].env()["REELGUARD_RECOMMENDER_TLS"], services["recommender"].env()["REELGUARD_RECOMMENDER_TLS"]
	if gw != rec || gw != "true" {
		t.Errorf("REELGUARD_RECOMMENDER_TLS: gateway %q, recommender %q, want both true", gw, rec)
	}
	check := fmt.Sprint(l(m(services["recommender"].def, "healthcheck"), "test"))
	if !strings.Contains(check, "-mtls /data/"+internalCADir+" https://") {
		t.Errorf("recommender healthcheck %s: want probe -mtls /data/%s https://...", check, internalCADir)
	}
}
