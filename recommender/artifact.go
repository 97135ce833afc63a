package recommender

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
)

// ArtifactFile holds the popular list (every kind's candidates and cold-start
// answer), the demographic cold-start lists and kind-specific settings
// inside a model folder.
const ArtifactFile = "model.json"

// artifactFormat is bumped when model.json's shape changes incompatibly.
const artifactFormat = 2

var (
	// ErrUnknownKind means the artifact holds a model kind this build cannot serve.
	ErrUnknownKind = errors.New("unknown model kind")
	// ErrBadArtifact means the folder is not a valid, complete model: a file
	// is missing, extra, malformed, or does not match metadata.json's sha256.
	ErrBadArtifact = errors.New("bad model artifact")
)

// artifact is model.json.
type artifact struct {
	Format int      `json:"format"`
	Items  []Scored `json:"items"` // the candidates, every one of them
	// MinSupport is the rule Items was filtered by, for the record.
	MinSupport int             `json:"min_support,omitempty"`
	Groups     []groupArtifact `json:"groups,omitempty"` // ascending by key
	ALS        *alsArtifact    `json:"als,omitempty"`
}

// SaveOptions say how a model folder is signed and what provenance it records.
type SaveOptions struct {
	// Key signs the folder. Nil means the key in KeysDir.
	Key ed25519.PrivateKey
	// KeysDir holds model.key when Key is nil; one of them is required. The
	// key is created there when missing.
	KeysDir string
	// DataSHA256 is the hex sha256 of the training data; default the model's own.
	DataSHA256 string
	// Metrics are evaluation results to record; default the model's own.
	Metrics map[string]float64
}

func (o SaveOptions) signingKey() (ed25519.PrivateKey, error) {
	if o.Key != nil {
		if len(o.Key) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("%w: wrong private key size", ErrBadKey)
		}
		return o.Key, nil
	}
	dir := o.KeysDir
	if dir == "" {
		return nil, fmt.Errorf("%w: no signing key and no keys directory given", ErrNoKey)
	}
	if _, err := EnsureSigningKey(dir); err != nil {
		return nil, err
	}
	return LoadSigningKey(dir)
}

func (o SaveOptions) meta(m *Model) Meta {
	meta := m.meta
	if o.DataSHA256 != "" {
		meta.DataSHA256 = o.DataSHA256
	}
	if o.Metrics != nil {
		meta.Metrics = o.Metrics
	}
	return meta
}

// Save writes m into dir itself (no versions), signed. It is for tools and
// tests; a served model folder is written by Publish, which never changes a
// folder a server may be reading. Each file is replaced atomically and
// metadata.json goes last, so a reader racing a Save is refused
// (ErrBadArtifact or ErrBadSignature) rather than served a mix.
func Save(dir string, m *Model, opts ...SaveOptions) error {
	var o SaveOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	key, err := o.signingKey()
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := writeModelFiles(dir, m, o.meta(m), key); err != nil {
		return err
	}
	for name := range knownFiles { // stale data files of an earlier save of another kind
		if needsFile(m.meta.Kind, name) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("save model: %w", err)
		}
	}
	return nil
}

// writeModelFiles writes the data files, then the signature, then
// metadata.json listing the data files' sha256.
func writeModelFiles(dir string, m *Model, meta Meta, key ed25519.PrivateKey) error {
	files, err := writeDataFiles(dir, m)
	if err != nil {
		return err
	}
	md := metadataOf(meta, files)
	if err := md.check(); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	mdJSON, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return fmt.Errorf("save model: encode metadata: %w", err)
	}
	mdJSON = append(mdJSON, '\n')
	// The signature first: metadata.json, written last, commits the save, so
	// a watcher that reloads when it changes finds its signature in place.
	if err := writeFileAtomic(filepath.Join(dir, SignatureFile), signMetadata(key, mdJSON)); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, MetadataFile), mdJSON)
}

// writeDataFiles writes the model's data files and returns their sha256.
// model.json goes last: older watchers reload when it changes, and
// metadata.json follows it at once.
func writeDataFiles(dir string, m *Model) (map[string]string, error) {
	a := artifact{Format: artifactFormat, Items: m.popular, MinSupport: m.minSupport, Groups: m.cold.artifact()}
	type file struct {
		name  string
		write func(io.Writer) error
	}
	var order []file
	if m.als != nil {
		a.ALS = &alsArtifact{Factors: m.als.factors}
		order = append(order, file{FactorsFile, func(w io.Writer) error { return writeFactors(w, m.als) }})
	}
	if m.ii != nil {
		order = append(order, file{ItemItemFile, func(w io.Writer) error { return writeItemItem(w, m.ii) }})
	}
	order = append(order,
		file{SeenFile, func(w io.Writer) error { return writeSeen(w, m.seenIndex()) }},
		file{ArtifactFile, func(w io.Writer) error { return json.NewEncoder(w).Encode(a) }})
	files := make(map[string]string, len(order))
	for _, f := range order {
		h := sha256.New()
		if err := writeAtomic(filepath.Join(dir, f.name), hashing(h, f.write)); err != nil {
			return nil, err
		}
		files[f.name] = hex.EncodeToString(h.Sum(nil))
	}
	return files, nil
}

func hashing(h hash.Hash, write func(io.Writer) error) func(io.Writer) error {
	return func(w io.Writer) error { return write(io.MultiWriter(w, h)) }
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

// LoadOptions say where Load finds the key that verifies a model folder.
type LoadOptions struct {
	// PublicKey verifies the folder; nil means the key in KeysDir.
	PublicKey ed25519.PublicKey
	// KeysDir holds model.pub when PublicKey is nil; one of them is required.
	KeysDir string
}

func (o LoadOptions) verifyKey() (ed25519.PublicKey, error) {
	if o.PublicKey != nil {
		return o.PublicKey, nil
	}
	if o.KeysDir == "" {
		return nil, fmt.Errorf("%w: no verify key and no keys directory given", ErrNoKey)
	}
	return LoadVerifyKey(o.KeysDir)
}

// LoadWith reads the model in dir: the version dir/current points at when
// dir holds versions (see Publish), else dir itself. Every load verifies the
// signature and every file's sha256 with the key opts name.
func LoadWith(dir string, opts LoadOptions) (*Model, error) {
	pub, err := opts.verifyKey()
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	return LoadVerified(dir, pub)
}

// LoadVerified is Load with the verify key given.
func LoadVerified(dir string, pub ed25519.PublicKey) (*Model, error) {
	folder, version, err := resolveCurrent(dir)
	if err == nil {
		var m *Model
		if m, err = loadFolder(folder, version, pub); err == nil {
			return m, nil
		}
	}
	return nil, fmt.Errorf("load model %s: %w", dir, err)
}

// loadFolder verifies and decodes one model folder. version, when not empty,
// is the name the folder was reached by and must be the signed version.
func loadFolder(dir, version string, pub ed25519.PublicKey) (*Model, error) {
	md, err := readSignedMetadata(dir, pub)
	if err != nil {
		return nil, err
	}
	if version != "" && md.Version != version {
		return nil, fmt.Errorf("%w: folder %s holds version %q", ErrBadArtifact, version, md.Version)
	}
	blobs, err := readListedFiles(dir, md.Files)
	if err != nil {
		return nil, err
	}
	return decodeModel(md, blobs)
}

// readSignedMetadata returns dir's metadata after checking its signature; nothing
// of it is parsed before that.
func readSignedMetadata(dir string, pub ed25519.PublicKey) (metadata, error) {
	mdJSON, err := readSmallFile(filepath.Join(dir, MetadataFile), maxMetadataSize)
	if err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, ArtifactFile)); errors.Is(err, os.ErrNotExist) && statErr == nil {
			return metadata{}, fmt.Errorf("%w: no %s: an unsigned model from an older build; retrain it", ErrBadSignature, MetadataFile)
		}
		return metadata{}, fmt.Errorf("%w: %w", ErrBadArtifact, err)
	}
	sig, err := readSmallFile(filepath.Join(dir, SignatureFile), 1024)
	if err != nil {
		return metadata{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if err := verifyMetadata(pub, mdJSON, sig); err != nil {
		return metadata{}, err
	}
	return parseMetadata(mdJSON)
}

func readSmallFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("%s is over %d bytes", filepath.Base(path), limit)
	}
	return data, err
}

// readListedFiles reads exactly the files metadata lists, refusing any other
// entry in dir, a non-regular file, and a sha256 mismatch. The bytes hashed
// are the bytes decoded: a file swapped after the check is never used.
func readListedFiles(dir string, files map[string]string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadArtifact, err)
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		_, listed := files[e.Name()]
		if !listed && e.Name() != MetadataFile && e.Name() != SignatureFile {
			return nil, fmt.Errorf("%w: %s is not listed in %s", ErrBadArtifact, clip(e.Name()), MetadataFile)
		}
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%w: %s is not a regular file", ErrBadArtifact, clip(e.Name()))
		}
		present[e.Name()] = true
	}
	blobs := make(map[string][]byte, len(files))
	for name, want := range files {
		if !present[name] {
			return nil, fmt.Errorf("%w: %s is missing", ErrBadArtifact, name)
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadArtifact, err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != want {
			return nil, fmt.Errorf("%w: %s does not match its sha256 in %s", ErrBadArtifact, name, MetadataFile)
		}
		blobs[name] = data
	}
	return blobs, nil
}

func decodeModel(md metadata, blobs map[string][]byte) (*Model, error) {
	a, err := parseArtifact(blobs[ArtifactFile])
	if err != nil {
		return nil, err
	}
	popular, err := checkItems(a.Items)
	if err != nil {
		return nil, err
	}
	idx, err := parseSeen(blobs[SeenFile])
	if err != nil {
		return nil, err
	}
	if a.MinSupport < 0 {
		return nil, fmt.Errorf("%w: %s: negative min_support", ErrBadArtifact, ArtifactFile)
	}
	cold, err := loadColdStart(a.Groups, popular, idx)
	if err != nil {
		return nil, err
	}
	m := &Model{meta: md.meta(), popular: popular, index: idx, cold: cold, minSupport: a.MinSupport}
	switch {
	case md.Algorithm == KindALS:
		if m.als, err = loadALS(blobs[FactorsFile], a.ALS, idx); err != nil {
			return nil, err
		}
	case md.Algorithm == KindEASE || md.Algorithm == KindItemKNN:
		if m.ii, err = loadItemItem(blobs[ItemItemFile], md.Algorithm, idx); err != nil {
			return nil, err
		}
	}
	if md.Algorithm != KindALS && a.ALS != nil {
		return nil, fmt.Errorf("%w: a %s model with an \"als\" section", ErrBadArtifact, md.Algorithm)
	}
	m.seenIndex() // build the lookup tables now, not on the first request
	return m, nil
}

func parseArtifact(data []byte) (artifact, error) {
	var a artifact
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, fmt.Errorf("%w: %s: %w", ErrBadArtifact, ArtifactFile, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return a, fmt.Errorf("%w: %s: data after the object", ErrBadArtifact, ArtifactFile)
	}
	if a.Format != artifactFormat {
		return a, fmt.Errorf("%w: %s format %d, want %d", ErrBadArtifact, ArtifactFile, a.Format, artifactFormat)
	}
	return a, nil
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
			return nil, fmt.Errorf("%w: item %q listed twice", ErrBadArtifact, clip(s.Item))
		}
		if math.IsNaN(s.Score) || math.IsInf(s.Score, 0) {
			return nil, fmt.Errorf("%w: item %q has a non-finite score", ErrBadArtifact, clip(s.Item))
		}
		ids[s.Item] = struct{}{}
	}
	out := append([]Scored(nil), items...)
	sortScored(out)
	return out, nil
}
