package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/reelguard/reelguard/recommender"
	"github.com/reelguard/reelguard/recommender/serve"
)

// promoteOptions are promote's settings after parsing.
type promoteOptions struct {
	root, candidate, keys string
	by, reason            string
	monitor               string
	requireOnline         bool
	wait, poll            time.Duration
}

// runPromote points a model root's current version at a verified
// candidate, after the online monitor's verdict when one is required, and
// records the promotion in the root's promotions log.
func runPromote(args []string, stdout, stderr io.Writer) error {
	o, err := parsePromoteFlags(args, stderr)
	if err != nil {
		return err
	}
	// An interrupt while waiting for the monitor stops before anything changed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return promote(ctx, o, stdout, stderr)
}

func parsePromoteFlags(args []string, stderr io.Writer) (promoteOptions, error) {
	fs := newFlagSet("promote", stderr)
	o := promoteOptions{}
	fs.StringVar(&o.root, "model", "", "model root whose current version moves (required)")
	fs.StringVar(&o.candidate, "candidate", "", "version of the root, or a folder (a canary's model root or a version folder) to publish into it (required)")
	fs.StringVar(&o.keys, "keys", "", "keys directory holding model.pub, and model.key to sign a candidate from a folder (default $REELGUARD_DATA/keys)")
	fs.StringVar(&o.monitor, "monitor", "", "base URL of the online monitor (recommender monitor: GET /promotion, GET /metrics); empty: no online check")
	fs.BoolVar(&o.requireOnline, "require-online", false, "promote only when the monitor shows the candidate not worse online than current (default true with --monitor)")
	fs.DurationVar(&o.wait, "wait", 0, "while the monitor has too few settled answers, ask again for up to this long; 0: fail at once")
	fs.DurationVar(&o.poll, "poll", 15*time.Second, "pause between questions to the monitor while waiting")
	fs.StringVar(&o.by, "by", "", "who promotes, for the record (default the user name)")
	fs.StringVar(&o.reason, "reason", "", "why, for the record")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if !explicit["require-online"] {
		o.requireOnline = o.monitor != ""
	}
	o.by = cmp.Or(o.by, userName())
	if err := required(fs, "model", o.root); err != nil {
		return o, err
	}
	if err := required(fs, "candidate", o.candidate); err != nil {
		return o, err
	}
	switch {
	case o.requireOnline && o.monitor == "":
		return o, fmt.Errorf("%w: promote: --require-online needs --monitor", errUsage)
	case o.monitor != "" && !httpURL(o.monitor):
		return o, fmt.Errorf("%w: promote: --monitor %q is not an http:// or https:// URL", errUsage, o.monitor)
	case o.wait < 0 || o.poll <= 0:
		return o, fmt.Errorf("%w: promote: --wait must not be negative, --poll must be positive", errUsage)
	}
	return o, nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// userName is the invoking user's login name, "unknown" when it cannot be told.
func userName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return cmp.Or(os.Getenv("USER"), "unknown")
}

// promote verifies the candidate, asks the monitor when there is one, and
// moves current. A candidate that is already current is a no-op success.
func promote(ctx context.Context, o promoteOptions, stdout, stderr io.Writer) error {
	pub, err := recommender.LoadVerifyKey(keysDir(o.keys))
	if err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	cand, err := recommender.OpenCandidate(o.root, o.candidate, pub)
	if err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	current, err := recommender.CurrentVersion(o.root)
	if err != nil && !(errors.Is(err, recommender.ErrNoCurrent) && !o.requireOnline) {
		return fmt.Errorf("promote: %w", err)
	}
	if cand.Version == current {
		fmt.Fprintf(stdout, "%s is already the current version: nothing to do\n", current)
		return nil
	}
	rec := recommender.Promotion{By: o.by, Reason: o.reason}
	if o.monitor != "" && current != "" {
		if rec.Online, err = onlineCheck(ctx, o, cand.Version, current, stderr); err != nil {
			return err
		}
	}
	rec, err = recommender.Promote(o.root, cand, rec, pub, recommender.SaveOptions{KeysDir: keysDir(o.keys)})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "promoted %s -> %s%s\n", cmp.Or(rec.From, "none"), rec.To, onlineSummary(rec.Online))
	return printVersions(stdout, o.root, pub)
}

// onlineCheck asks the monitor whether canary may replace main. With
// --require-online only a positive verdict passes (waiting up to --wait
// while it is undecided); without, the verdict is only recorded (nil when
// the monitor cannot be asked).
func onlineCheck(ctx context.Context, o promoteOptions, canary, main string, stderr io.Writer) (*recommender.OnlineEvidence, error) {
	wait := o.wait
	if !o.requireOnline {
		wait = 0
	}
	ev, err := newMonitorClient(o.monitor).awaitVerdict(ctx, canary, main, wait, o.poll, stderr)
	switch {
	case err == nil && o.requireOnline && !ev.Promote:
		return nil, fmt.Errorf("promote %s over %s: %w", canary, main, verdictError(ev))
	case err == nil:
		ev.Required = o.requireOnline
		if !ev.Promote {
			fmt.Fprintf(stderr, "recommender: promote: promoting against the monitor's verdict (%s), as --require-online=false allows\n", ev.Reason)
		}
		return ev, nil
	case o.requireOnline:
		return nil, fmt.Errorf("promote %s over %s: %w", canary, main, err)
	default:
		fmt.Fprintf(stderr, "recommender: promote: no online verdict recorded: %v\n", err)
		return nil, nil
	}
}

// verdictError turns a negative verdict into an error carrying its
// evidence: ErrCanaryUndecided for too little data, else ErrCanaryWorse (a
// reason this build does not know counts as worse: fail closed).
func verdictError(ev *recommender.OnlineEvidence) error {
	sentinel := recommender.ErrCanaryWorse
	if ev.Reason == "insufficient_data" {
		sentinel = recommender.ErrCanaryUndecided
	}
	return fmt.Errorf("%w (reason %s): %s", sentinel, ev.Reason, evidenceText(ev))
}

// evidenceText is the verdict's numbers on one line.
func evidenceText(ev *recommender.OnlineEvidence) string {
	arm := func(a recommender.ArmFigures) string {
		if !a.Found {
			return fmt.Sprintf("%s no figures", a.Version)
		}
		return fmt.Sprintf("%s quality %.4f (%d of %d settled answers converted, availability %.4f)",
			a.Version, a.Quality, a.Converted, a.Settled, a.Availability)
	}
	text := fmt.Sprintf("candidate %s; current %s", arm(ev.Canary), arm(ev.Main))
	if ev.Reason != "insufficient_data" { // no bound without enough data
		text += fmt.Sprintf("; quality difference %.4f, lower bound %.4f", ev.QualityDiff, ev.LowerBound)
	}
	text += "; watermark " + ev.Watermark
	if ev.Detail != "" {
		text += "; monitor: " + ev.Detail
	}
	return text
}

// onlineSummary is the verdict as promote's output line ends.
func onlineSummary(ev *recommender.OnlineEvidence) string {
	switch {
	case ev == nil:
		return " (manual: no online check)"
	case ev.Required:
		return fmt.Sprintf(" (online: %s; %s)", ev.Reason, evidenceText(ev))
	default:
		return fmt.Sprintf(" (online check not required, verdict %s recorded; %s)", ev.Reason, evidenceText(ev))
	}
}

// Monitor client limits.
const (
	monitorTimeout     = 10 * time.Second
	maxPromotionAnswer = 1 << 20
	maxMetricsAnswer   = 8 << 20
)

// monitorClient asks `recommender monitor` for verdicts and figures.
type monitorClient struct {
	base   string
	client *http.Client
}

func newMonitorClient(base string) monitorClient {
	return monitorClient{base: strings.TrimSuffix(base, "/"), client: &http.Client{Timeout: monitorTimeout}}
}

// awaitVerdict asks for canary's verdict against main, again every poll
// while it is undecided, until wait has passed (once when wait is 0).
func (c monitorClient) awaitVerdict(ctx context.Context, canary, main string, wait, poll time.Duration, stderr io.Writer) (*recommender.OnlineEvidence, error) {
	deadline := time.Now().Add(wait)
	for {
		ev, err := c.verdict(ctx, canary, main)
		if err != nil || ev.Promote || ev.Reason != "insufficient_data" || !time.Now().Before(deadline) {
			return ev, err
		}
		fmt.Fprintf(stderr, "recommender: promote: waiting for online data: %s\n", ev.Detail)
		t := time.NewTimer(min(poll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// verdict is GET /promotion's answer with both arms' figures from GET
// /metrics (best effort: an arm without them is recorded Found false).
func (c monitorClient) verdict(ctx context.Context, canary, main string) (*recommender.OnlineEvidence, error) {
	q := url.Values{"canary": {canary}, "main": {main}}
	body, err := c.get(ctx, "/promotion?"+q.Encode(), maxPromotionAnswer)
	if err != nil {
		return nil, err
	}
	var ans serve.PromotionAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("monitor %s: GET /promotion: %w", c.base, err)
	}
	if ans.Canary != canary || ans.Main != main {
		return nil, fmt.Errorf("monitor %s: asked about %s over %s, answered about %q over %q", c.base, canary, main, ans.Canary, ans.Main)
	}
	ev := &recommender.OnlineEvidence{Monitor: c.base, Promote: ans.Promote, Reason: ans.Reason, Detail: ans.Detail,
		QualityDiff: ans.Diff, LowerBound: ans.LowerBound, Watermark: ans.Watermark}
	metrics, _ := c.get(ctx, "/metrics", maxMetricsAnswer) // figures are evidence, not the verdict
	ev.Main, ev.Canary = armFigures(string(metrics), main), armFigures(string(metrics), canary)
	return ev, nil
}

// get fetches path from the monitor; a status other than 200 is an error
// carrying the monitor's JSON reason.
func (c monitorClient) get(ctx context.Context, path string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("monitor %s: %w", c.base, err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("monitor %s: GET %s: %w", c.base, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Reason string }
		_ = json.Unmarshal(body, &e) // the status alone says enough when the body is not ours
		return nil, fmt.Errorf("monitor %s: GET %s: status %d %s %s", c.base, path, resp.StatusCode, e.Reason, e.Error)
	}
	return body, nil
}

// armFigures reads version's reelguard_online_* gauges from a Prometheus
// text exposition; Found is false unless its quality and settled count are
// there.
func armFigures(text, version string) recommender.ArmFigures {
	a := recommender.ArmFigures{Version: version}
	var seen int
	for line := range strings.Lines(text) {
		name, rest, ok := strings.Cut(line, `{version="`+version+`"} `)
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		f, err := strconv.ParseFloat(strings.Fields(rest + " x")[0], 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		switch name {
		case "reelguard_online_quality":
			a.Quality, seen = f, seen|1
		case "reelguard_online_settled_answers":
			a.Settled, seen = int(f), seen|2
		case "reelguard_online_converted_answers":
			a.Converted = int(f)
		case "reelguard_online_availability":
			a.Availability = f
		}
	}
	a.Found = seen == 3
	return a
}
