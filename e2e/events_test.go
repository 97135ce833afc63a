package e2e

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/reelguard/reelguard/events"
)

// eventsStack is a dedicated devbroker (so the test may stop it), a
// gateway taking POST /events and a recommender verifying movielog and
// retraining on it, all on one data folder.
type eventsStack struct {
	top                      *testing.T // owns the processes, restarted ones too
	data, broker, brokerData string
	brokerProc               *proc
	gateway                  *proc
	gwEnv                    []string
	gwURL                    string
	adminURL                 string
	client                   *http.Client
	ingestToken              string
	revoked                  *events.Signer
}

// revokedKid names a second signing key the keyset marks revoked.
const revokedKid = "events-e2e-revoked"

func newEventsStack(t *testing.T) *eventsStack {
	t.Helper()
	s := &eventsStack{top: t, data: t.TempDir(), broker: addr(t)}
	s.brokerData = filepath.Join(s.data, "broker")
	s.startBroker(t)
	env := []string{"REELGUARD_DATA=" + s.data, "REELGUARD_KAFKA_BROKERS=" + s.broker, "REELGUARD_REDIS_URL="}
	run(t, env, "gateway", "keys")
	s.revoked = addRevokedKey(t, filepath.Join(s.data, "keys", events.KeysetFile))
	base := filepath.Join(s.data, "movielog.log")
	run(t, env, "recommender", "gen", "--out", base, "--users", "200", "--movies", "300", "--events", "10000")
	run(t, env, "recommender", "train", "--data", base, "--format", "movielog", "--algo", "itemknn", "--out", filepath.Join(s.data, "model"))

	recAddr := addr(t)
	// --promote-threshold 1 promotes every candidate the loop manages to
	// score, so the test sees valid records train the next model; the
	// decision rule itself is covered by recommender's unit tests.
	rec := start(t, env, "recommender", "serve", "--model", filepath.Join(s.data, "model"), "--listen", recAddr,
		"--feedback-base", base, "--retrain-events", "24", "--retrain-interval", "1h", "--promote-threshold", "1")
	waitOK(t, http.DefaultClient, "http://"+recAddr+"/readyz", rec)

	adminAddr := addr(t)
	s.adminURL = "http://" + adminAddr
	s.gwEnv = append(env, "REELGUARD_LISTEN="+addr(t), "REELGUARD_ADMIN_LISTEN="+adminAddr,
		"REELGUARD_UPSTREAM=http://"+recAddr, "REELGUARD_INSTANCE=e2e-events-gw")
	s.client = tlsClient(t, s.data, 10*time.Second)
	s.startGateway(t)
	s.ingestToken = strings.TrimSpace(run(t, env, "gateway", "token", "--sub", "ingest-e2e", "--role", "ingest"))
	return s
}

func (s *eventsStack) startBroker(t *testing.T) {
	t.Helper()
	s.brokerProc = start(s.top, nil, "devbroker", "--listen", s.broker, "--data", s.brokerData)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(s.brokerProc.out.String(), "devbroker listening on"); {
		if time.Now().After(deadline) {
			t.Fatalf("devbroker did not start:\n%s", s.brokerProc.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *eventsStack) startGateway(t *testing.T) {
	t.Helper()
	s.gateway = start(s.top, s.gwEnv, "gateway", "serve")
	for _, kv := range s.gwEnv {
		if v, ok := strings.CutPrefix(kv, "REELGUARD_LISTEN="); ok {
			s.gwURL = "https://" + v
		}
	}
	waitOK(t, s.client, s.gwURL+"/healthz", s.gateway)
}

// addRevokedKey adds a fresh Ed25519 key, marked revoked, to the keyset
// and returns a signer holding it.
func addRevokedKey(t *testing.T, path string) *events.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := events.NewSigner(revokedKid, events.AlgEdDSA, priv.Seed())
	if err != nil {
		t.Fatal(err)
	}
	var ks struct {
		Keys []events.KeyEntry `json:"keys"`
	}
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &ks) != nil {
		t.Fatalf("keyset %s: %v", path, err)
	}
	entry := signer.VerifyKey()
	entry.Status = events.StatusRevoked
	ks.Keys = append(ks.Keys, entry)
	out, _ := json.MarshalIndent(ks, "", "  ")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return signer
}

// post sends course lines to POST /events and returns the status.
func (s *eventsStack) post(lines []string) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, s.gwURL+"/events", strings.NewReader(strings.Join(lines, "\n")+"\n"))
	req.Header.Set("Authorization", "Bearer "+s.ingestToken)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func watchLine(user int, movie string, minute int) string {
	return fmt.Sprintf("%s,%d,GET /data/m/%s/%d.mpg", time.Now().UTC().Format("2006-01-02T15:04:05"), user, movie, minute)
}

// userBatch is one watch line for each of n consecutive user ids from first.
func userBatch(first, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = watchLine(first+i, "outage+test+2020", 1)
	}
	return lines
}

// feedbackStatus reads the recommender's feedback status.json.
type feedbackStatus struct {
	Verified     int64            `json:"verified_events"`
	Rejected     map[string]int64 `json:"rejected_events"`
	Retrains     int              `json:"retrains"`
	Promotions   int              `json:"promotions"`
	LastError    string           `json:"last_error"`
	LastDecision *struct {
		Candidate string
		Promoted  bool
		Reason    string
	} `json:"last_decision"`
}

func (s *eventsStack) status(t *testing.T) feedbackStatus {
	t.Helper()
	var st feedbackStatus
	data, err := os.ReadFile(filepath.Join(s.data, "model", "feedback", "status.json"))
	if err == nil {
		_ = json.Unmarshal(data, &st)
	}
	return st
}

// waitFor polls cond for up to 30 s: a deadline for a hang, not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestEvents(t *testing.T) {
	s := newEventsStack(t)
	t.Run("forged records land in movielog.rejected; valid ones train the next model", func(t *testing.T) { testForged(t, s) })
	t.Run("broker outage: every acknowledged event arrives exactly once", func(t *testing.T) { testOutage(t, s) })
	t.Run("gateway kill -9: no acknowledged event is lost", func(t *testing.T) { testGatewayKill(t, s) })
}

func testForged(t *testing.T, s *eventsStack) {
	first := 100_000_000 + rand.IntN(100_000_000)
	var valid []string
	for u := range 6 {
		for m := range 4 {
			valid = append(valid, watchLine(first+u, fmt.Sprintf("feedback+movie+%d", m), 1))
		}
	}
	if code, err := s.post(valid); err != nil || code/100 != 2 {
		t.Fatalf("POST /events: %d %v", code, err)
	}
	waitFor(t, "24 verified events at the recommender", func() bool { return s.status(t).Verified == 24 })

	orig := kcatFind(t, s.broker, strconv.Itoa(first))
	tampered := strings.Replace(orig.value, "/1.mpg", "/2.mpg", 1)
	unsigned := watchLine(first+10, "unsigned+movie", 1)
	revoked := watchLine(first+11, "revoked+movie", 1)
	kcatProduce(t, s.broker, orig.partition, strconv.Itoa(first+10), unsigned, nil)
	kcatProduce(t, s.broker, orig.partition, orig.key, tampered, orig.headers)
	kcatProduce(t, s.broker, orig.partition, orig.key, orig.value, orig.headers) // byte-for-byte replay
	produceSigned(t, s.broker, s.revoked, strconv.Itoa(first+11), revoked)

	want := map[string]string{unsigned: "unsigned", tampered: "bad_signature", revoked: "revoked_kid", orig.value: "replay"}
	waitFor(t, "four records in movielog.rejected", func() bool { return len(kcatRejected(t, s.broker, want)) == len(want) })
	for value, reason := range kcatRejected(t, s.broker, want) {
		if reason != want[value] {
			t.Errorf("record %q rejected as %q, want %q", value, reason, want[value])
		}
	}
	st := s.status(t)
	for _, reason := range []string{"unsigned", "bad_signature", "revoked_kid", "replay"} {
		if st.Rejected[reason] != 1 {
			t.Errorf("recommender counted %d %s rejections, want 1 (%v)", st.Rejected[reason], reason, st.Rejected)
		}
	}
	// The recommender's signature alerts reach the gateway's dashboard through
	// security-alerts.
	admin := strings.TrimSpace(run(t, []string{"REELGUARD_DATA=" + s.data}, "gateway", "token", "--sub", "ops", "--role", "admin"))
	waitFor(t, "a signature alert on the gateway's /admin/alerts", func() bool {
		req, _ := http.NewRequest(http.MethodGet, s.adminURL+"/admin/alerts", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var alerts []struct{ Kind string }
		_ = json.NewDecoder(resp.Body).Decode(&alerts)
		for _, a := range alerts {
			if a.Kind == "signature" {
				return true
			}
		}
		return false
	})
	waitFor(t, "a promoted retrain", func() bool { st = s.status(t); return st.Promotions > 0 || st.LastError != "" })
	checkPromotedMeta(t, filepath.Join(s.data, "model"), st)
}

// checkPromotedMeta reads the served version's metadata: the loop's
// candidate, trained on the verified events it records.
func checkPromotedMeta(t *testing.T, root string, st feedbackStatus) {
	t.Helper()
	if st.LastDecision == nil || !st.LastDecision.Promoted {
		t.Fatalf("no promoted retrain: %+v", st)
	}
	data, err := os.ReadFile(filepath.Join(root, "current", "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Version         string
		Hyperparameters map[string]string
		Metrics         map[string]float64
	}
	if err := json.Unmarshal(data, &md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.Version, "-feedback-") || !strings.HasPrefix(md.Hyperparameters["movielog_offsets"], "p") ||
		md.Metrics["verified_events"] < 24 {
		t.Errorf("served model %s: params %v, metrics %v: want a feedback model recording offsets and >= 24 verified events",
			md.Version, md.Hyperparameters, md.Metrics)
	}
}

func testOutage(t *testing.T, s *eventsStack) {
	first := 200_000_000 + rand.IntN(100_000_000)
	s.brokerProc.stop()
	acked := map[string]bool{}
	const batches, size = 20, 25
	for b := range batches { // spread over about two seconds: an outage, not a blip
		time.Sleep(100 * time.Millisecond)
		start := first + b*size
		if code, err := s.post(userBatch(start, size)); err == nil && code/100 == 2 {
			for u := start; u < start+size; u++ {
				acked[strconv.Itoa(u)] = true
			}
		}
	}
	if len(acked) == 0 {
		t.Fatal("no event acknowledged while the broker was down (the spool should take them)")
	}
	s.startBroker(t)
	counts := keyCounts(t, s.broker, acked)
	for user := range acked {
		if counts[user] != 1 {
			t.Errorf("user %s: %d records on movielog, want exactly 1", user, counts[user])
		}
	}
	t.Logf("%d events acknowledged during the outage, each delivered once", len(acked))
}

func testGatewayKill(t *testing.T, s *eventsStack) {
	first := 300_000_000 + rand.IntN(100_000_000)
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	done := make(chan struct{})
	const size = 25
	go func() {
		defer close(done)
		for b := 0; b < 400; b++ {
			select {
			case <-stop:
				return
			default:
			}
			start := first + b*size
			if code, err := s.post(userBatch(start, size)); err == nil && code/100 == 2 {
				mu.Lock()
				for u := start; u < start+size; u++ {
					acked[strconv.Itoa(u)] = true
				}
				mu.Unlock()
			}
		}
	}()
	waitFor(t, "ten acknowledged batches", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 10*size })
	if err := s.gateway.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.gateway.done
	close(stop)
	<-done
	s.startGateway(t) // same data folder and instance: it sends what the spool kept
	counts := keyCounts(t, s.broker, acked)
	for user := range acked {
		if counts[user] < 1 {
			t.Errorf("user %s: acknowledged but not on movielog", user)
		}
	}
	t.Logf("%d events acknowledged before and around kill -9, none lost", len(acked))
}

// kcatRecord is one record as kcat prints it.
type kcatRecord struct {
	partition  string
	key, value string
	headers    []string // k=v
}

// kcatFind reads movielog with kcat and returns the first record keyed key.
func kcatFind(t *testing.T, broker, key string) kcatRecord {
	t.Helper()
	out, err := exec.Command("kcat", "-C", "-b", broker, "-t", "movielog", "-o", "beginning", "-e", "-q",
		"-f", "%p\t%k\t%h\t%s\n").Output()
	if err != nil {
		t.Fatalf("kcat -C (run `make test` to install kcat): %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, "\t", 4)
		if len(f) == 4 && f[1] == key {
			return kcatRecord{partition: f[0], key: f[1], value: f[3], headers: strings.Split(f[2], ",")}
		}
	}
	t.Fatalf("kcat found no movielog record keyed %s", key)
	return kcatRecord{}
}

// kcatProduce writes one record with kcat, with the given k=v headers.
func kcatProduce(t *testing.T, broker, partition, key, value string, headers []string) {
	t.Helper()
	args := []string{"-P", "-b", broker, "-t", "movielog", "-p", partition, "-k", key}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	cmd := exec.Command("kcat", args...)
	cmd.Stdin = strings.NewReader(value + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
}

// produceSigned signs a record with signer and produces it with franz-go.
func produceSigned(t *testing.T, broker string, signer *events.Signer, key, value string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r := &kgo.Record{Topic: "movielog", Key: []byte(key), Value: []byte(value)}
	if err := signer.Sign(r, time.Now()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// kcatRejected reads movielog.rejected with kcat and returns the
// reject-reason of each record whose value is a key of want.
func kcatRejected(t *testing.T, broker string, want map[string]string) map[string]string {
	t.Helper()
	out, _ := exec.Command("kcat", "-C", "-b", broker, "-t", "movielog.rejected", "-o", "beginning", "-e", "-q",
		"-f", "%h\t%s\n").Output()
	got := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		headers, value, ok := strings.Cut(line, "\t")
		if _, wanted := want[value]; !ok || !wanted {
			continue
		}
		for _, h := range strings.Split(headers, ",") {
			if reason, ok := strings.CutPrefix(h, events.HeaderRejectReason+"="); ok {
				got[value] = reason
			}
		}
	}
	return got
}

// keyCounts reads movielog from the start and counts the records of each
// key in want, until every one arrived and a further second passed quietly
// (to catch duplicates), or 30 s.
func keyCounts(t *testing.T, broker string, want map[string]bool) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics("movielog"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	counts := map[string]int{}
	seen := 0
	var quietUntil time.Time
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if !quietUntil.IsZero() && time.Now().After(quietUntil) {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fetches := cl.PollFetches(ctx)
		cancel()
		fetches.EachRecord(func(r *kgo.Record) {
			if k := string(r.Key); want[k] {
				if counts[k] == 0 {
					seen++
				}
				counts[k]++
			}
		})
		if seen == len(want) && quietUntil.IsZero() {
			quietUntil = time.Now().Add(time.Second)
		}
	}
	return counts
}
