package recommender

import (
	"bufio"
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The feedback loop keeps its files in root/FeedbackDir:
//
//	interactions.log  every verified event line, appended (fsynced before each retrain)
//	state.json        topic offsets, rejected counts, the log prefix the current model used
//	status.json       what the loop is doing and its last decision, for people and tests
//	decisions.jsonl   every retrain's decision, one JSON object a line (for reports)
const (
	FeedbackDir           = "feedback"
	feedbackLogFile       = "interactions.log"
	feedbackStateFile     = "state.json"
	FeedbackStatusFile    = "status.json"
	FeedbackDecisionsFile = "decisions.jsonl"
	feedbackStateVersion  = 1
)

// Feedback loop defaults.
const (
	DefaultRetrainInterval  = 10 * time.Minute
	DefaultRetrainEvents    = 10_000
	DefaultPromoteThreshold = 0.02
	feedbackTick            = time.Second
)

// Params and metrics a promoted model records about the events it used.
const (
	ParamOffsets         = "movielog_offsets" // "p0:124,p1:56": next offset per partition
	MetricVerifiedEvents = "verified_events"
	MetricRejectedEvents = "rejected_events"
	MetricFeedbackNDCG   = "feedback_ndcg@10" // on the loop's held-out slice
	// MetricExcludedProfiles counts the users ScreenProfiles left out.
	MetricExcludedProfiles = "excluded_profiles"
)

// ErrBadFeedbackConfig means a FeedbackConfig field is missing or invalid.
var ErrBadFeedbackConfig = errors.New("bad feedback config")

// FeedbackConfig configures a Feedback loop. Root, Key, Aggregate and
// Train are required; every other zero value works.
type FeedbackConfig struct {
	Root string             // model root (see Publish); the loop's files go to Root/FeedbackDir
	Key  ed25519.PrivateKey // signs promoted models and, as its public half, verifies the current one
	// BaseData is the course log the current model lineage was trained
	// from; every candidate trains on it plus the verified events. Empty:
	// on the events alone.
	BaseData string
	// Aggregate turns course log lines into weighted interactions, one per
	// (user, movie) pair (the reader `recommender train` uses).
	Aggregate func(r io.Reader) ([]Interaction, error)
	// Train trains a candidate of the current model's kind.
	Train func(kind Kind, in []Interaction, version string) (*Model, error)
	// Interval: retrain this long after the last attempt when events
	// arrived since; default DefaultRetrainInterval.
	Interval time.Duration
	// MaxEvents: retrain as soon as this many events arrived since the last
	// attempt; default DefaultRetrainEvents.
	MaxEvents int
	// Threshold: promote unless the candidate's nDCG is below the current
	// model's by more than this (absolute); default DefaultPromoteThreshold.
	Threshold float64
	// Users are demographics (see ReadUsers) for the group-gap checks; nil
	// skips them, and every decision says so.
	Users map[string]UserInfo
	// Items give genres (see ReadItems) for the calibration check; nil
	// skips it, and every decision says so.
	Items map[string]ItemInfo
	// MaxGroupGapIncrease: refuse a candidate whose held-out nDCG gap
	// between genders, or between age bands, is wider than the current
	// model's by more than this (absolute); default DefaultMaxGroupGapIncrease.
	MaxGroupGapIncrease float64
	// MaxCoverageDrop: refuse a candidate whose lists cover a smaller share
	// of the training items by more than this; default DefaultMaxCoverageDrop.
	MaxCoverageDrop float64
	// MaxCalibrationIncrease: refuse a candidate whose mean calibration KL
	// (see CalibrationKL) is higher by more than this; default
	// DefaultMaxCalibrationIncrease.
	MaxCalibrationIncrease float64
	// MinGroupUsers: a group needs this many held-out users to count in a
	// gap; default DefaultMinGroupUsers.
	MinGroupUsers int
	// OnDecision, when not nil, is called with each decision once it is
	// recorded, from the retraining goroutine (the command raises an alert
	// when a fairness check refused a candidate).
	OnDecision func(FeedbackDecision)
	// ScreenProfiles, when not nil, reads each retrain's training data
	// (the base data and the logged events, the bytes Aggregate reads) and
	// returns the users whose whole profiles are left out of that training
	// and of the held-out slice: shilling profiles that no single rating
	// gives away (cmd/recommender scores them with anomaly.ScoreProfiles).
	// An error fails the retrain, and the current model stays, rather
	// than train on data the screen did not see. Nil: no screen.
	ScreenProfiles func(r io.Reader) (map[string]bool, error)
	Eval           EvalConfig       // K and TestFraction of the held-out slice
	Now            func() time.Time // default time.Now
	Logger         *slog.Logger     // default: discard
}

func (c FeedbackConfig) withDefaults() (FeedbackConfig, error) {
	switch {
	case c.Root == "" || len(c.Key) != ed25519.PrivateKeySize:
		return c, fmt.Errorf("%w: no model root or signing key", ErrBadFeedbackConfig)
	case c.Aggregate == nil || c.Train == nil:
		return c, fmt.Errorf("%w: no aggregate or train function", ErrBadFeedbackConfig)
	case c.Interval < 0 || c.MaxEvents < 0 || c.Threshold < 0:
		return c, fmt.Errorf("%w: negative interval, event count or threshold", ErrBadFeedbackConfig)
	case c.MaxGroupGapIncrease < 0 || c.MaxCoverageDrop < 0 || c.MaxCalibrationIncrease < 0 || c.MinGroupUsers < 0:
		return c, fmt.Errorf("%w: negative fairness threshold or group size", ErrBadFeedbackConfig)
	}
	c.MaxGroupGapIncrease = cmp.Or(c.MaxGroupGapIncrease, DefaultMaxGroupGapIncrease)
	c.MaxCoverageDrop = cmp.Or(c.MaxCoverageDrop, DefaultMaxCoverageDrop)
	c.MaxCalibrationIncrease = cmp.Or(c.MaxCalibrationIncrease, DefaultMaxCalibrationIncrease)
	c.MinGroupUsers = cmp.Or(c.MinGroupUsers, DefaultMinGroupUsers)
	if c.Interval == 0 {
		c.Interval = DefaultRetrainInterval
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = DefaultRetrainEvents
	}
	if c.Threshold == 0 {
		c.Threshold = DefaultPromoteThreshold
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	eval, err := c.Eval.withDefaults()
	c.Eval = eval
	return c, err
}

// feedbackState is state.json.
type feedbackState struct {
	Version int `json:"v"`
	// Offsets is the next offset to read per partition, of events in the log.
	Offsets  map[int32]int64  `json:"offsets"`
	Rejected map[string]int64 `json:"rejected"` // by reason
	Skipped  int64            `json:"skipped"`  // verified but not a watch, rate or account line
	// TrainedBytes is the prefix of the log the current model was trained on.
	TrainedBytes int64 `json:"trained_bytes"`
}

// FeedbackDecision is the outcome of one retrain.
type FeedbackDecision struct {
	Time          time.Time `json:"time"`
	Current       string    `json:"current"`
	Candidate     string    `json:"candidate,omitempty"`
	CurrentNDCG   float64   `json:"current_ndcg"`
	CandidateNDCG float64   `json:"candidate_ndcg"`
	HeldOutUsers  int       `json:"held_out_users"`
	NewPairs      int       `json:"new_pairs"` // (user, movie) pairs in the events since the current model
	Promoted      bool      `json:"promoted"`
	Reason        string    `json:"reason"`
	// Checks are the gate's comparisons (see GateCheck); Refused names
	// the ones that refused the candidate.
	Checks  []GateCheck `json:"checks,omitempty"`
	Refused []string    `json:"refused,omitempty"`
	// ExcludedProfiles are the users ScreenProfiles left out of this
	// retrain, and ExcludedPairs their (user, movie) pairs.
	ExcludedProfiles int `json:"excluded_profiles,omitempty"`
	ExcludedPairs    int `json:"excluded_pairs,omitempty"`
}

// FairnessRefused reports whether a check other than nDCG refused the
// candidate: a model was held back for treating a group, the catalog or
// users' tastes worse, which people should hear about.
func (d FeedbackDecision) FairnessRefused() bool {
	return slices.ContainsFunc(d.Refused, func(name string) bool { return name != CheckNDCG })
}

// FeedbackStatus is status.json.
type FeedbackStatus struct {
	Updated        time.Time         `json:"updated"`
	Verified       int64             `json:"verified_events"` // lines in the log
	Rejected       map[string]int64  `json:"rejected_events"` // by reason
	Skipped        int64             `json:"skipped_events"`
	Pending        int               `json:"pending_events"` // since the last attempt
	Offsets        string            `json:"movielog_offsets"`
	Retrains       int               `json:"retrains"`
	Promotions     int               `json:"promotions"`
	LastDecision   *FeedbackDecision `json:"last_decision,omitempty"`
	LastError      string            `json:"last_error,omitempty"`
	TrainedOnBytes int64             `json:"trained_bytes"`
}

// Feedback accumulates verified interactions in a durable log and, on a
// schedule or after enough new events, trains a candidate on the base data
// plus the log, scores it and the current model on a held-out slice of the
// events the current model has not seen, and publishes the candidate only
// when it is not worse beyond Threshold. Add, Skip and Reject are safe for
// concurrent use; Retrain and Run are not (one loop per Feedback).
type Feedback struct {
	cfg FeedbackConfig
	dir string

	mu          sync.Mutex
	file        *os.File
	w           *bufio.Writer
	logBytes    int64
	verified    int64
	st          feedbackState
	pending     int
	lastAttempt time.Time
	status      FeedbackStatus
}

// OpenFeedback opens (creating) root/FeedbackDir and its log and state.
func OpenFeedback(cfg FeedbackConfig) (*Feedback, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open feedback: %w", err)
	}
	f := &Feedback{cfg: cfg, dir: filepath.Join(cfg.Root, FeedbackDir), lastAttempt: cfg.Now()}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return nil, fmt.Errorf("open feedback: %w", err)
	}
	if f.st, err = loadFeedbackState(filepath.Join(f.dir, feedbackStateFile)); err != nil {
		return nil, fmt.Errorf("open feedback: %w", err)
	}
	if f.file, err = os.OpenFile(filepath.Join(f.dir, feedbackLogFile), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
		return nil, fmt.Errorf("open feedback: %w", err)
	}
	if f.logBytes, f.verified, err = countLines(f.file); err != nil {
		f.file.Close()
		return nil, fmt.Errorf("open feedback: %w", err)
	}
	f.st.TrainedBytes = min(f.st.TrainedBytes, f.logBytes)
	f.w = bufio.NewWriterSize(f.file, 64<<10)
	return f, nil
}

func loadFeedbackState(path string) (feedbackState, error) {
	st := feedbackState{Version: feedbackStateVersion, Offsets: map[int32]int64{}, Rejected: map[string]int64{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil || st.Version != feedbackStateVersion || st.TrainedBytes < 0 {
		return st, fmt.Errorf("%s: not a feedback state file (%v)", path, err)
	}
	if st.Offsets == nil {
		st.Offsets = map[int32]int64{}
	}
	if st.Rejected == nil {
		st.Rejected = map[string]int64{}
	}
	return st, nil
}

// countLines returns f's size and its number of complete lines.
func countLines(f *os.File) (size, lines int64, err error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), 64<<10)
	for {
		chunk, err := r.ReadSlice('\n')
		size += int64(len(chunk))
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			lines++
		}
		switch {
		case err == io.EOF:
			return size, lines, nil
		case err != nil && !errors.Is(err, bufio.ErrBufferFull):
			return 0, 0, err
		}
	}
}

// Add appends one verified event line, read at partition/offset. The line
// must be a single line (no '\n').
func (f *Feedback) Add(line string, partition int32, offset int64) error {
	if line == "" || strings.ContainsAny(line, "\r\n") {
		return fmt.Errorf("feedback: event is not one line")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.w.WriteString(line + "\n"); err != nil {
		return fmt.Errorf("feedback: append event: %w", err)
	}
	f.logBytes += int64(len(line) + 1)
	f.verified++
	f.pending++
	f.st.Offsets[partition] = max(f.st.Offsets[partition], offset+1)
	return nil
}

// Skip counts a verified record that is no interaction (a recommendation
// line, or a value that does not parse), read at partition/offset.
func (f *Feedback) Skip(partition int32, offset int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Skipped++
	f.st.Offsets[partition] = max(f.st.Offsets[partition], offset+1)
}

// Reject counts a record that failed verification, by reason.
func (f *Feedback) Reject(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Rejected[reason]++
}

// SetProfileScreen sets ScreenProfiles (see FeedbackConfig) for the
// retrains that start after it returns, for wiring that builds the screen
// once the loop is open. Safe for concurrent use.
func (f *Feedback) SetProfileScreen(screen func(r io.Reader) (map[string]bool, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg.ScreenProfiles = screen
}

// Due reports whether a retrain is due: MaxEvents new events, or any new
// event and Interval since the last attempt.
func (f *Feedback) Due() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending >= f.cfg.MaxEvents || f.pending > 0 && f.cfg.Now().Sub(f.lastAttempt) >= f.cfg.Interval
}

// Run retrains whenever Due, looking every second, and keeps status.json
// and state.json current, until ctx ends; then it flushes the log and
// closes it. A failed retrain is logged, recorded and tried again when due.
func (f *Feedback) Run(ctx context.Context) error {
	defer f.Close()
	t := time.NewTicker(feedbackTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if f.Due() {
			if _, err := f.Retrain(); err != nil {
				f.cfg.Logger.Error("feedback: retrain failed; the current model stays", "err", err)
			}
			continue
		}
		if err := f.save(); err != nil {
			f.cfg.Logger.Warn("feedback: state not saved", "err", err)
		}
	}
}

// Close flushes the log and saves the state and status.
func (f *Feedback) Close() error {
	err := f.save()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.file == nil {
		return err
	}
	err = errors.Join(err, f.file.Close())
	f.file = nil
	return err
}

// save flushes and fsyncs the log, then writes state.json and status.json.
func (f *Feedback) save() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.saveLocked()
}

func (f *Feedback) saveLocked() error {
	if f.file == nil {
		return nil
	}
	if err := f.w.Flush(); err != nil {
		return fmt.Errorf("flush feedback log: %w", err)
	}
	if err := f.file.Sync(); err != nil {
		return fmt.Errorf("sync feedback log: %w", err)
	}
	st, err := json.Marshal(f.st)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(f.dir, feedbackStateFile), st); err != nil {
		return fmt.Errorf("save feedback state: %w", err)
	}
	status, err := json.MarshalIndent(f.statusLocked(), "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(f.dir, FeedbackStatusFile), append(status, '\n'))
}

// Status returns what status.json says.
func (f *Feedback) Status() FeedbackStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statusLocked()
}

func (f *Feedback) statusLocked() FeedbackStatus {
	s := f.status
	s.Updated, s.Verified, s.Skipped, s.Pending = f.cfg.Now().UTC(), f.verified, f.st.Skipped, f.pending
	s.Rejected, s.Offsets, s.TrainedOnBytes = maps.Clone(f.st.Rejected), formatOffsets(f.st.Offsets), f.st.TrainedBytes
	return s
}

// formatOffsets writes offsets as "p0:124,p1:56", by partition.
func formatOffsets(offsets map[int32]int64) string {
	parts := slices.Sorted(maps.Keys(offsets))
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = "p" + strconv.Itoa(int(p)) + ":" + strconv.FormatInt(offsets[p], 10)
	}
	return strings.Join(out, ",")
}
