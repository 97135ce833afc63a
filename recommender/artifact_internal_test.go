package recommender

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var internalKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// writeSigned writes files into a new folder with a metadata.json (listing
// their sha256, after edit) signed by internalKey: content checks are then
// the only thing between the files and a served model.
func writeSigned(tb testing.TB, files map[string][]byte, edit func(md *metadata)) string {
	tb.Helper()
	dir := tb.TempDir()
	md := metadata{Format: metadataFormat, Version: "v", Algorithm: KindPopularity, Created: time.Unix(0, 0).UTC(), Files: map[string]string{}}
	for name, data := range files {
		sum := sha256.Sum256(data)
		md.Files[name] = hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if edit != nil {
		edit(&md)
	}
	mdJSON, _ := json.Marshal(md)
	os.WriteFile(filepath.Join(dir, MetadataFile), mdJSON, 0o644)
	os.WriteFile(filepath.Join(dir, SignatureFile), signMetadata(internalKey, mdJSON), 0o644)
	return dir
}

func seenBytes(tb testing.TB, s *seenIndex) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := writeSeen(&b, s); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func TestLoadRejectsSignedContent(t *testing.T) {
	seen := seenBytes(t, seenFromSets(map[string]map[string]struct{}{"1": {"a": {}}}))
	pop := func(body string) map[string][]byte {
		return map[string][]byte{ArtifactFile: []byte(body), SeenFile: seen}
	}
	good := `{"format":2,"items":[{"id":"a","score":1}]}`
	tests := []struct {
		name  string
		files map[string][]byte
		edit  func(md *metadata)
		want  error
	}{
		{"not json", pop("{"), nil, ErrBadArtifact},
		{"unknown field", pop(`{"format":2,"items":[],"evil":1}`), nil, ErrBadArtifact},
		{"old format", pop(`{"format":1,"items":[]}`), nil, ErrBadArtifact},
		{"duplicate item", pop(`{"format":2,"items":[{"id":"a","score":1},{"id":"a","score":1}]}`), nil, ErrBadArtifact},
		{"empty item", pop(`{"format":2,"items":[{"id":"","score":1}]}`), nil, ErrBadArtifact},
		{"als section on popularity", pop(`{"format":2,"items":[],"als":{"factors":2}}`), nil, ErrBadArtifact},
		{"unknown kind", pop(good), func(md *metadata) { md.Algorithm = "nonesuch" }, ErrUnknownKind},
		{"als without factors file", pop(good), func(md *metadata) { md.Algorithm = KindALS }, ErrBadArtifact},
		{"bad version", pop(good), func(md *metadata) { md.Version = "../v" }, ErrBadArtifact},
		{"unknown listed file", pop(good), func(md *metadata) { md.Files["x"] = md.Files[SeenFile] }, ErrBadArtifact},
		{"seen index missing from list", pop(good), func(md *metadata) { delete(md.Files, SeenFile) }, ErrBadArtifact},
		{"bad seen index", map[string][]byte{ArtifactFile: []byte(good), SeenFile: seen[:len(seen)-1]}, nil, ErrBadArtifact},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeSigned(t, tc.files, tc.edit)
			if _, err := LoadVerified(dir, internalKey.Public().(ed25519.PublicKey)); !errors.Is(err, tc.want) {
				t.Fatalf("Load = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("restores order", func(t *testing.T) {
		dir := writeSigned(t, pop(`{"format":2,"items":[{"id":"b","score":0.1},{"id":"z","score":0.9},{"id":"a","score":0.1}]}`), nil)
		m, err := LoadVerified(dir, internalKey.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		got := m.Recommend("2", 3, false)
		if len(got) != 3 || got[0].Item != "z" || got[1].Item != "a" || got[2].Item != "b" {
			t.Fatalf("order = %v, want z,a,b", got)
		}
		if ex := m.Recommend("1", 3, true); len(ex) != 2 || ex[0].Item != "z" {
			t.Fatalf("exclude seen = %v, want z,b", ex)
		}
	})
}
