package recommender

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

// ArtifactFile is the model file's name inside a model directory.
const ArtifactFile = "model.json"

// artifactFormat is bumped when the file's shape changes incompatibly.
const artifactFormat = 1

var (
	// ErrUnknownKind means the artifact holds a model kind this build cannot serve.
	ErrUnknownKind = errors.New("unknown model kind")
	// ErrBadArtifact means the artifact is not a valid model file.
	ErrBadArtifact = errors.New("bad model artifact")
)

// artifact is model.json. Kind-specific data gets its own fields (ALS: the
// row ids and the factors file's checksum); the popular list and seen sets
// are common to all kinds.
type artifact struct {
	Format    int                 `json:"format"`
	Kind      Kind                `json:"kind"`
	Version   string              `json:"version"`
	TrainedAt time.Time           `json:"trained_at"`
	Counts    artifactCounts      `json:"counts"`
	Params    map[string]string   `json:"params,omitempty"`
	Items     []Scored            `json:"items"`
	Seen      map[string][]string `json:"seen"`
	ALS       *alsArtifact        `json:"als,omitempty"`
}

type artifactCounts struct {
	Users        int `json:"users"`
	Items        int `json:"items"`
	Interactions int `json:"interactions"`
}

// Save writes dir/model.json atomically: a reader sees the old file or the new
// one, never half of either. dir is created when missing. A KindALS model's
// factors go to dir/factors.bin first; model.json, written last, commits the
// save and carries the factors' checksum, so a reader racing a save fails
// with ErrBadArtifact (and can retry) instead of mixing two models.
func Save(dir string, m *Model) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	a := toArtifact(m)
	factorsPath := filepath.Join(dir, FactorsFile)
	if m.als != nil {
		var sum string
		err := writeAtomic(factorsPath, func(w io.Writer) (err error) {
			sum, err = writeFactors(w, m.als)
			return err
		})
		if err != nil {
			return err
		}
		a.ALS = &alsArtifact{Factors: m.als.factors, FactorsSHA256: sum, Users: m.als.users, Items: m.als.items}
	}
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("save model: encode: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, ArtifactFile), data); err != nil {
		return err
	}
	if m.als == nil { // a stale factors file from an earlier ALS save
		if err := os.Remove(factorsPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("save model: %w", err)
		}
	}
	return nil
}

func toArtifact(m *Model) artifact {
	seen := make(map[string][]string, len(m.seen))
	for user, items := range m.seen {
		seen[user] = sortedKeys(items)
	}
	return artifact{
		Format:    artifactFormat,
		Kind:      m.meta.Kind,
		Version:   m.meta.Version,
		TrainedAt: m.meta.TrainedAt,
		Counts:    artifactCounts{Users: m.meta.Users, Items: m.meta.Items, Interactions: m.meta.Interactions},
		Params:    m.meta.Params,
		Items:     m.popular,
		Seen:      seen,
	}
}

func writeFileAtomic(path string, data []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic writes path through a synced temporary file renamed into place.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return fmt.Errorf("save model: write: %w", err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("save model: sync: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("save model: close: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// Load reads dir/model.json written by Save and checks it before serving it.
func Load(dir string) (*Model, error) {
	path := filepath.Join(dir, ArtifactFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	var a artifact
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("load model %s: %w: %w", path, ErrBadArtifact, err)
	}
	m, err := fromArtifact(a)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	if a.Kind == KindALS {
		if m.als, err = loadALS(dir, a); err != nil {
			return nil, fmt.Errorf("load model %s: %w", dir, err)
		}
	}
	return m, nil
}

func fromArtifact(a artifact) (*Model, error) {
	if a.Format != artifactFormat {
		return nil, fmt.Errorf("%w: format %d, want %d", ErrBadArtifact, a.Format, artifactFormat)
	}
	if a.Kind != KindPopularity && a.Kind != KindALS {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKind, a.Kind)
	}
	if a.Version == "" {
		return nil, fmt.Errorf("%w: empty version", ErrBadArtifact)
	}
	popular, err := checkItems(a.Items)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]map[string]struct{}, len(a.Seen))
	for user, items := range a.Seen {
		set := make(map[string]struct{}, len(items))
		for _, it := range items {
			set[it] = struct{}{}
		}
		seen[user] = set
	}
	meta := Meta{
		Kind: a.Kind, Version: a.Version, TrainedAt: a.TrainedAt, Params: a.Params,
		Users: a.Counts.Users, Items: a.Counts.Items, Interactions: a.Counts.Interactions,
	}
	return &Model{meta: meta, popular: popular, seen: seen}, nil
}

// checkItems refuses empty or duplicate ids and non-finite scores, and restores
// the best-first order whatever order the file holds.
func checkItems(items []Scored) ([]Scored, error) {
	ids := make(map[string]struct{}, len(items))
	for i, s := range items {
		if s.Item == "" {
			return nil, fmt.Errorf("%w: item %d has an empty id", ErrBadArtifact, i+1)
		}
		if _, dup := ids[s.Item]; dup {
			return nil, fmt.Errorf("%w: item %q listed twice", ErrBadArtifact, s.Item)
		}
		if math.IsNaN(s.Score) || math.IsInf(s.Score, 0) {
			return nil, fmt.Errorf("%w: item %q has a non-finite score", ErrBadArtifact, s.Item)
		}
		ids[s.Item] = struct{}{}
	}
	out := append([]Scored(nil), items...)
	sortScored(out)
	return out, nil
}
