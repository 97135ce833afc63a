package recommender

import (
	"bufio"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// LineageEntry is one version in the chain of parents of a model root's
// current version.
type LineageEntry struct {
	Version      string             `json:"version"`
	Parent       string             `json:"parent,omitempty"`
	Kind         Kind               `json:"kind,omitempty"`
	Created      time.Time          `json:"created"`
	Current      bool               `json:"current,omitempty"`
	Users        int                `json:"users"`
	Items        int                `json:"items"`
	Interactions int                `json:"interactions"`
	Metrics      map[string]float64 `json:"metrics,omitempty"`
	// Promotion is why the feedback loop promoted it (ParamPromotion).
	Promotion string `json:"promotion,omitempty"`
	// Err is why the version could not be read; the chain stops there.
	Err string `json:"error,omitempty"`
}

// maxLineage bounds the walk, in case parents loop.
const maxLineage = 10_000

// Lineage walks root's current version and its parents, checking each
// metadata signature with pub, and returns them oldest first. A version that
// fails its check ends the walk with an entry saying why.
func Lineage(root string, pub ed25519.PublicKey) ([]LineageEntry, error) {
	v, err := CurrentVersion(root)
	if err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	var out []LineageEntry
	seen := map[string]bool{}
	for v != "" && !seen[v] && len(out) < maxLineage {
		seen[v] = true
		md, err := readSignedMetadata(filepath.Join(root, VersionsDir, v), pub)
		if err == nil && md.Version != v {
			err = fmt.Errorf("%w: folder %s holds version %q", ErrBadArtifact, v, md.Version)
		}
		if err != nil {
			out = append(out, LineageEntry{Version: v, Err: err.Error()})
			break
		}
		out = append(out, lineageEntry(md, len(out) == 0))
		v = md.Parent
	}
	slices.Reverse(out)
	return out, nil
}

func lineageEntry(md metadata, current bool) LineageEntry {
	return LineageEntry{Version: md.Version, Parent: md.Parent, Kind: md.Algorithm, Created: md.Created, Current: current,
		Users: md.Counts.Users, Items: md.Counts.Items, Interactions: md.Counts.Interactions,
		Metrics: md.Metrics, Promotion: md.Hyperparameters[ParamPromotion]}
}

// LineageOf is the one-entry lineage of a model loaded from a plain folder.
func LineageOf(m *Model) []LineageEntry {
	meta := m.Meta()
	return []LineageEntry{{Version: meta.Version, Parent: meta.Parent, Kind: meta.Kind, Created: meta.TrainedAt, Current: true,
		Users: meta.Users, Items: meta.Items, Interactions: meta.Interactions, Metrics: meta.Metrics,
		Promotion: meta.Params[ParamPromotion]}}
}

// maxDecisionLine bounds one line of the decisions log.
const maxDecisionLine = 1 << 20

// ReadFeedbackDecisions reads the feedback loop's decisions log under root
// (every retrain, promoted or refused, oldest first); none when the loop
// never ran. A line that does not parse is skipped and counted.
func ReadFeedbackDecisions(root string) (decisions []FeedbackDecision, skipped int, err error) {
	f, err := os.Open(filepath.Join(root, FeedbackDir, FeedbackDecisionsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read feedback decisions: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxDecisionLine)
	for sc.Scan() {
		var d FeedbackDecision
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			skipped++
			continue
		}
		decisions = append(decisions, d)
	}
	if err := sc.Err(); err != nil {
		return decisions, skipped, fmt.Errorf("read feedback decisions: %w", err)
	}
	return decisions, skipped, nil
}
