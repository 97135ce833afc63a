package recommender

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

func sampleSeen() *seenIndex {
	return seenFromSets(map[string]map[string]struct{}{
		"1": {"a": {}, "c": {}}, "2": {}, "10": {"b": {}, "a": {}, "d": {}},
	})
}

func TestSeenRoundTrip(t *testing.T) {
	s := sampleSeen()
	got, err := parseSeen(seenBytes(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.users, []string{"1", "10", "2"}) || !slices.Equal(got.items, []string{"a", "b", "c", "d"}) {
		t.Fatalf("ids = %v %v", got.users, got.items)
	}
	if !slices.Equal(got.row(got.userRow["10"]), []int32{0, 1, 3}) || len(got.row(got.userRow["2"])) != 0 {
		t.Fatalf("rows = %v %v", got.ptr, got.idx)
	}
}

func TestParseSeenRejects(t *testing.T) {
	good := seenBytes(t, sampleSeen())
	patch := func(off int, v uint64, size int) []byte {
		b := slices.Clone(good)
		if size == 8 {
			binary.LittleEndian.PutUint64(b[off:], v)
		} else {
			binary.LittleEndian.PutUint32(b[off:], uint32(v))
		}
		return b
	}
	n := len(good)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"wrong magic", append([]byte("XXXX"), good[4:]...)},
		{"future format", patch(4, 2, 4)},
		{"huge user count", patch(8, 1<<40, 8)},
		{"huge entry count", patch(24, 1<<40, 8)},
		{"truncated", good[:n-1]},
		{"trailing byte", append(slices.Clone(good), 0)},
		{"item index out of range", patch(n-4, 99, 4)},
		{"repeated item in a row", patch(n-4, 1, 4)}, // user 10's row becomes 0,1,1
		{"id too long", patch(seenHeaderSize, maxIDLen+1, 4)},
		{"users out of order", bytes.Replace(good, []byte("10"), []byte("00"), 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseSeen(tc.data); !errors.Is(err, ErrBadArtifact) {
				t.Fatalf("parseSeen = %v, want ErrBadArtifact", err)
			}
		})
	}
}

// FuzzParseSeen: no input panics, and whatever parses encodes back to the
// same bytes (the format has one encoding per index).
func FuzzParseSeen(f *testing.F) {
	good := seenBytes(f, sampleSeen())
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(seenBytes(f, seenFromSets(nil)))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseSeen(data)
		if err != nil {
			return
		}
		if again := seenBytes(t, s); !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzParseMetadata: no input panics, and what parses passes its checks.
func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(`{"format":1,"version":"v","algorithm":"popularity","counts":{"users":1,"items":1,"interactions":1},"created":"2024-01-01T00:00:00Z","files":{"model.json":"` + zeros + `","seen.bin":"` + zeros + `"}}`))
	f.Add([]byte(`{"format":1,"version":"v","algorithm":"als","files":{"model.json":"` + zeros + `"}}`))
	f.Add([]byte(`{"format":1} {}`))
	f.Add([]byte(`{"metrics":{"x":1e400}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := parseMetadata(data)
		if err == nil {
			if err := md.check(); err != nil {
				t.Fatalf("parsed metadata fails check: %v", err)
			}
		}
	})
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"
