package recommender

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Retrain trains a candidate on the base data plus every verified event,
// less a held-out slice, and promotes it when its nDCG@K on that slice is
// not below the current model's by more than Threshold and no fairness
// check refuses it: the nDCG gap between genders or between age bands,
// the coverage and the calibration of the same users' lists may each
// worsen only by their Max* threshold (see GateCheck; a check without the
// users or items file it needs is skipped, and the reason says so).
//
// The slice is drawn (SplitPerUser, EvalConfig's fraction and seed) from
// the (user, movie) pairs of the events logged since the current model was
// promoted, keeping only positive ones (a dislike is no hit) the current
// model did not see in training: neither model trained on them, so both are
// scored on equal terms, each recommending with seen items excluded. The
// promoted model is the candidate scored (trained without its slice); the
// next candidate trains on the slice. A decision not to promote keeps the
// current model and says why in the decision and status.json.
func (f *Feedback) Retrain() (FeedbackDecision, error) {
	snap, err := f.snapshot()
	if err != nil {
		return FeedbackDecision{}, f.failed(err)
	}
	current, err := LoadVerified(f.cfg.Root, f.cfg.Key.Public().(ed25519.PublicKey))
	if err != nil {
		return FeedbackDecision{}, f.failed(fmt.Errorf("current model: %w", err))
	}
	all, fresh, sum, err := f.readData(snap.TrainedBytes, snap.End)
	if err != nil {
		return FeedbackDecision{}, f.failed(err)
	}
	excluded, err := f.screenProfiles(snap)
	if err != nil {
		return FeedbackDecision{}, f.failed(err)
	}
	pairs := len(all)
	all, fresh = withoutProfiles(all, excluded), withoutProfiles(fresh, excluded)
	d := FeedbackDecision{Time: f.cfg.Now().UTC(), Current: current.Version(), NewPairs: len(fresh),
		ExcludedProfiles: len(excluded), ExcludedPairs: pairs - len(all)}
	test := f.heldOut(fresh, current)
	if len(test) == 0 {
		d.Reason = "no held-out events: no user has a second new positive movie the current model has not seen"
		return f.decided(d, snap)
	}
	train := withoutPairs(all, test)
	kind := current.Meta().Kind
	d.Candidate = FreeVersion(f.cfg.Root, string(kind)+"-feedback-"+strconv.FormatInt(f.cfg.Now().Unix(), 10))
	cand, err := f.cfg.Train(kind, train, d.Candidate)
	if err != nil {
		return d, f.failed(fmt.Errorf("train candidate %s: %w", d.Candidate, err))
	}
	cases, stats := heldOutCases(test), newDataStats(train)
	d.HeldOutUsers = len(cases)
	curM, candM := f.measureGate(current, cases, stats), f.measureGate(cand, cases, stats)
	d.CurrentNDCG, d.CandidateNDCG = curM.ndcg, candM.ndcg
	d.Checks = f.gateChecks(curM, candM)
	d.Reason, d.Refused = gateReason(f.cfg.Eval.K, d.Checks)
	if len(d.Refused) > 0 {
		return f.decided(d, snap)
	}
	if err := f.publish(cand, snap, sum, candM, d); err != nil {
		return d, f.failed(err)
	}
	d.Promoted = true
	return f.decided(d, snap)
}

// heldOut is the test half of a per-user split of fresh, less pairs that
// are no positive signal or that current saw in training.
func (f *Feedback) heldOut(fresh []Interaction, current *Model) []Interaction {
	_, test := SplitPerUser(fresh, f.cfg.Eval.TestFraction, f.cfg.Eval.Seed)
	return slices.DeleteFunc(test, func(x Interaction) bool {
		return x.Weight <= 0 || current.hasSeen(x.User, x.Item)
	})
}

// withoutPairs returns in less every (user, item) pair of drop.
func withoutPairs(in, drop []Interaction) []Interaction {
	gone := make(map[[2]string]struct{}, len(drop))
	for _, x := range drop {
		gone[[2]string{x.User, x.Item}] = struct{}{}
	}
	out := make([]Interaction, 0, len(in))
	for _, x := range in {
		if _, ok := gone[[2]string{x.User, x.Item}]; !ok {
			out = append(out, x)
		}
	}
	return out
}

// hasSeen reports whether m trained on the (user, item) pair.
func (m *Model) hasSeen(user, item string) bool {
	idx := m.seenIndex()
	row, ok := idx.userRow[user]
	if !ok {
		return false
	}
	col, ok := slices.BinarySearch(idx.items, item)
	if !ok {
		return false
	}
	_, hit := slices.BinarySearch(idx.row(row), int32(col))
	return hit
}

// publish records the events used, the gate's measures, its reason and
// the profiles screened out in cand's metadata and publishes it, signed:
// the serving reloader picks it up from root/current.
func (f *Feedback) publish(cand *Model, snap feedbackSnapshot, dataSHA256 string, g gateMeasures, d FeedbackDecision) error {
	reason := d.Reason
	params := maps.Clone(cand.meta.Params)
	if params == nil {
		params = map[string]string{}
	}
	params[ParamOffsets] = snap.Offsets
	params[ParamPromotion] = reason
	cand.meta.Params = params // cand is ours alone until published
	metrics := maps.Clone(cand.meta.Metrics)
	if metrics == nil {
		metrics = map[string]float64{}
	}
	metrics[MetricVerifiedEvents] = float64(snap.Verified)
	metrics[MetricRejectedEvents] = float64(snap.Rejected)
	metrics[MetricFeedbackNDCG] = g.ndcg
	metrics[MetricCoverage] = g.coverage
	if snap.Screen != nil {
		metrics[MetricExcludedProfiles] = float64(d.ExcludedProfiles)
	}
	for name, v := range map[string]*float64{MetricGenderGap: g.genderGap, MetricAgeGap: g.ageGap, MetricCalibration: g.calibration} {
		if v != nil {
			metrics[name] = *v
		}
	}
	if _, err := Publish(f.cfg.Root, cand, SaveOptions{Key: f.cfg.Key, DataSHA256: dataSHA256, Metrics: metrics}); err != nil {
		return fmt.Errorf("promote %s: %w", cand.Version(), err)
	}
	return nil
}

// decided records d (and, when promoted, that the current model now covers
// the log up to snap.End), saves the state, appends d to the decisions log
// and then, without the lock, tells OnDecision.
func (f *Feedback) decided(d FeedbackDecision, snap feedbackSnapshot) (FeedbackDecision, error) {
	err := f.record(d, snap)
	if f.cfg.OnDecision != nil {
		f.cfg.OnDecision(d)
	}
	if err != nil {
		return d, fmt.Errorf("feedback: %w", err)
	}
	return d, nil
}

func (f *Feedback) record(d FeedbackDecision, snap feedbackSnapshot) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status.Retrains++
	f.status.LastDecision, f.status.LastError = &d, ""
	if d.Promoted {
		f.status.Promotions++
		f.st.TrainedBytes = snap.End
	}
	f.cfg.Logger.Info("feedback: retrained", "current", d.Current, "candidate", d.Candidate, "promoted", d.Promoted,
		"current_ndcg", d.CurrentNDCG, "candidate_ndcg", d.CandidateNDCG, "held_out_users", d.HeldOutUsers, "excluded_profiles", d.ExcludedProfiles, "reason", d.Reason)
	return errors.Join(f.saveLocked(), f.appendDecision(d))
}

// appendDecision adds d to the decisions log, one JSON line.
func (f *Feedback) appendDecision(d FeedbackDecision) error {
	line, err := json.Marshal(d)
	if err != nil {
		return err
	}
	file, err := os.OpenFile(filepath.Join(f.dir, FeedbackDecisionsFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("record decision: %w", err)
	}
	_, err = file.Write(append(line, '\n'))
	return errors.Join(err, file.Close())
}

// failed records a retrain that could not decide.
func (f *Feedback) failed(err error) error {
	err = fmt.Errorf("feedback: retrain: %w", err)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status.LastError = err.Error()
	if serr := f.saveLocked(); serr != nil {
		f.cfg.Logger.Warn("feedback: state not saved", "err", serr)
	}
	return err
}

// feedbackSnapshot is what one retrain works from: the log up to End.
type feedbackSnapshot struct {
	End, TrainedBytes int64
	Offsets           string
	Verified          int64
	Rejected          int64
	Screen            func(io.Reader) (map[string]bool, error) // ScreenProfiles as it was
}

// snapshot flushes the log and fixes what this retrain uses.
func (f *Feedback) snapshot() (feedbackSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending, f.lastAttempt = 0, f.cfg.Now()
	if err := f.saveLocked(); err != nil {
		return feedbackSnapshot{}, err
	}
	var rejected int64
	for _, n := range f.st.Rejected {
		rejected += n
	}
	return feedbackSnapshot{End: f.logBytes, TrainedBytes: f.st.TrainedBytes, Offsets: formatOffsets(f.st.Offsets),
		Verified: f.verified, Rejected: rejected, Screen: f.cfg.ScreenProfiles}, nil
}

// hashingReader hashes what a candidate is trained from (the base file and
// the log prefix) as Aggregate reads it: the model's DataSHA256.
type hashingReader struct {
	r io.Reader
	h io.Writer
}

func (h hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

// trainingData opens base + log[0:end], the bytes a candidate trains on.
func (f *Feedback) trainingData(end int64) (io.Reader, func(), error) {
	logFile, err := os.Open(filepath.Join(f.dir, feedbackLogFile))
	if err != nil {
		return nil, nil, err
	}
	readers := []io.Reader{}
	closers := []io.Closer{logFile}
	if f.cfg.BaseData != "" {
		base, err := os.Open(f.cfg.BaseData)
		if err != nil {
			logFile.Close()
			return nil, nil, fmt.Errorf("base data: %w", err)
		}
		closers = append(closers, base)
		readers = append(readers, base, strings.NewReader("\n"))
	}
	readers = append(readers, io.NewSectionReader(logFile, 0, end))
	return io.MultiReader(readers...), func() {
		for _, c := range closers {
			c.Close()
		}
	}, nil
}

// readData aggregates base + log[0:end] (hashing it) and log[from:end].
func (f *Feedback) readData(from, end int64) (all, fresh []Interaction, sum string, err error) {
	data, done, err := f.trainingData(end)
	if err != nil {
		return nil, nil, "", err
	}
	defer done()
	h := sha256.New()
	if all, err = f.cfg.Aggregate(hashingReader{data, h}); err != nil {
		return nil, nil, "", fmt.Errorf("read training data: %w", err)
	}
	logFile, err := os.Open(filepath.Join(f.dir, feedbackLogFile))
	if err != nil {
		return nil, nil, "", err
	}
	defer logFile.Close()
	if fresh, err = f.cfg.Aggregate(io.NewSectionReader(logFile, from, end-from)); err != nil {
		return nil, nil, "", fmt.Errorf("read new events: %w", err)
	}
	return all, fresh, hex.EncodeToString(h.Sum(nil)), nil
}

// screenProfiles runs the snapshot's ScreenProfiles (none: nothing
// excluded) over the training data a second time: reading it again costs
// far less than the training it guards.
func (f *Feedback) screenProfiles(snap feedbackSnapshot) (map[string]bool, error) {
	if snap.Screen == nil {
		return nil, nil
	}
	data, done, err := f.trainingData(snap.End)
	if err != nil {
		return nil, err
	}
	defer done()
	excluded, err := snap.Screen(data)
	if err != nil {
		return nil, fmt.Errorf("screen profiles: %w", err)
	}
	return excluded, nil
}

// withoutProfiles returns in less every interaction of a user in drop.
func withoutProfiles(in []Interaction, drop map[string]bool) []Interaction {
	if len(drop) == 0 {
		return in
	}
	return slices.DeleteFunc(in, func(x Interaction) bool { return drop[x.User] })
}
