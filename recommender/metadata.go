package recommender

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"time"
)

// MetadataFile describes a model folder: what the model is, what it was
// trained on, and the sha256 of every other file in the folder. It is the
// signed part of the folder (see SignatureFile).
const MetadataFile = "metadata.json"

const (
	metadataFormat = 1
	// maxMetadataSize bounds metadata.json: it lists a handful of files and
	// parameters, never per-user data.
	maxMetadataSize = 1 << 20
)

// versionRE is a version name: it becomes a folder name, so no separators,
// no leading dot.
var versionRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$`)

// ValidVersion reports whether v can name a model version (and its folder).
func ValidVersion(v string) bool { return versionRE.MatchString(v) }

// metadata is metadata.json.
type metadata struct {
	Format          int                `json:"format"`
	Version         string             `json:"version"`
	Parent          string             `json:"parent,omitempty"`
	Algorithm       Kind               `json:"algorithm"`
	Hyperparameters map[string]string  `json:"hyperparameters,omitempty"`
	DataSHA256      string             `json:"data_sha256,omitempty"`
	Counts          artifactCounts     `json:"counts"`
	Metrics         map[string]float64 `json:"metrics,omitempty"`
	Created         time.Time          `json:"created"`
	// Files maps each other file of the folder to its hex sha256.
	Files map[string]string `json:"files"`
}

type artifactCounts struct {
	Users        int `json:"users"`
	Items        int `json:"items"`
	Interactions int `json:"interactions"`
}

// knownFiles are the files a model folder may hold besides metadata.json and
// the signature; true marks the ones every kind needs.
var knownFiles = map[string]bool{ArtifactFile: true, SeenFile: true, FactorsFile: false, ItemItemFile: false}

// knownKinds are the model kinds this build can load.
var knownKinds = map[Kind]bool{KindPopularity: true, KindALS: true, KindEASE: true, KindItemKNN: true}

// needsFile reports whether a model of kind must list the file name.
func needsFile(kind Kind, name string) bool {
	switch name {
	case FactorsFile:
		return kind == KindALS
	case ItemItemFile:
		return kind == KindEASE || kind == KindItemKNN
	}
	return knownFiles[name]
}

func metadataOf(meta Meta, files map[string]string) metadata {
	return metadata{
		Format: metadataFormat, Version: meta.Version, Parent: meta.Parent, Algorithm: meta.Kind,
		Hyperparameters: meta.Params, DataSHA256: meta.DataSHA256, Metrics: meta.Metrics,
		Counts:  artifactCounts{Users: meta.Users, Items: meta.Items, Interactions: meta.Interactions},
		Created: meta.TrainedAt, Files: files,
	}
}

func (md metadata) meta() Meta {
	return Meta{
		Kind: md.Algorithm, Version: md.Version, TrainedAt: md.Created, Params: md.Hyperparameters,
		Users: md.Counts.Users, Items: md.Counts.Items, Interactions: md.Counts.Interactions,
		Parent: md.Parent, DataSHA256: md.DataSHA256, Metrics: md.Metrics,
	}
}

// parseMetadata decodes metadata.json strictly (unknown fields and trailing
// data are errors) and checks every field a loader relies on.
func parseMetadata(data []byte) (metadata, error) {
	var md metadata
	if len(data) > maxMetadataSize {
		return md, fmt.Errorf("%w: %s is over %d bytes", ErrBadArtifact, MetadataFile, maxMetadataSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&md); err != nil {
		return md, fmt.Errorf("%w: %s: %w", ErrBadArtifact, MetadataFile, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return md, fmt.Errorf("%w: %s: data after the object", ErrBadArtifact, MetadataFile)
	}
	return md, md.check()
}

func (md metadata) check() error {
	switch {
	case md.Format != metadataFormat:
		return fmt.Errorf("%w: %s format %d, want %d", ErrBadArtifact, MetadataFile, md.Format, metadataFormat)
	case !knownKinds[md.Algorithm]:
		return fmt.Errorf("%w: %q", ErrUnknownKind, clip(string(md.Algorithm)))
	case !ValidVersion(md.Version):
		return fmt.Errorf("%w: %s: version %q is not a valid name", ErrBadArtifact, MetadataFile, clip(md.Version))
	case md.Parent != "" && !ValidVersion(md.Parent):
		return fmt.Errorf("%w: %s: parent %q is not a valid name", ErrBadArtifact, MetadataFile, clip(md.Parent))
	case md.DataSHA256 != "" && !isSHA256Hex(md.DataSHA256):
		return fmt.Errorf("%w: %s: data_sha256 is not a hex sha256", ErrBadArtifact, MetadataFile)
	case md.Counts.Users < 0 || md.Counts.Items < 0 || md.Counts.Interactions < 0:
		return fmt.Errorf("%w: %s: negative counts", ErrBadArtifact, MetadataFile)
	}
	for name, sum := range md.Files {
		if _, known := knownFiles[name]; !known || !isSHA256Hex(sum) {
			return fmt.Errorf("%w: %s lists %q with sha256 %q", ErrBadArtifact, MetadataFile, clip(name), clip(sum))
		}
	}
	for name := range knownFiles {
		if _, listed := md.Files[name]; listed != needsFile(md.Algorithm, name) {
			return fmt.Errorf("%w: %s: a %s model must %slist %s", ErrBadArtifact, MetadataFile,
				md.Algorithm, map[bool]string{true: "not ", false: ""}[listed], name)
		}
	}
	for name, v := range md.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: %s: metric %q is not finite", ErrBadArtifact, MetadataFile, clip(name))
		}
	}
	return nil
}

func isSHA256Hex(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32 && hex.EncodeToString(b) == s
}
