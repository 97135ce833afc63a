package events

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
)

func testFrames(tb testing.TB, recs ...spoolRecord) []byte {
	tb.Helper()
	var buf []byte
	for i := range recs {
		var err error
		if buf, err = appendFrame(buf, &recs[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return buf
}

var frameCases = []spoolRecord{
	{topic: "movielog", key: []byte("42"), value: []byte("2024-03-09T14:05:07,42,GET /rate/heat=4")},
	{topic: "recommendations", key: nil, value: []byte("x")},
	{topic: "t", key: []byte{}, value: nil},
	{topic: "headers", key: []byte("7"), value: []byte("v"), headers: []Header{{"model", "als-12"}, {"fallback", ""}}},
}

func TestFrameRoundTrip(t *testing.T) {
	for _, want := range frameCases {
		t.Run(want.topic, func(t *testing.T) {
			buf := testFrames(t, want)
			got, n, err := decodeFrame(buf)
			if err != nil || n != len(buf) {
				t.Fatalf("decodeFrame = %d, %v", n, err)
			}
			if got.topic != want.topic || !bytes.Equal(got.key, want.key) || !bytes.Equal(got.value, want.value) ||
				(got.key == nil) != (want.key == nil) || (got.value == nil) != (want.value == nil) ||
				!slices.Equal(got.headers, want.headers) {
				t.Fatalf("decoded %+v, want %+v", got, want)
			}
			if version := buf[frameHeaderLen]; (len(want.headers) == 0) != (version == recordVersion) {
				t.Fatalf("frame version %d for %d headers: records without headers must keep version 1", version, len(want.headers))
			}
		})
	}
}

func TestFrameDamageDetected(t *testing.T) {
	whole := testFrames(t, frameCases[0])
	flipped := bytes.Clone(whole)
	flipped[len(flipped)-3] ^= 0x20
	tests := []struct {
		name string
		buf  []byte
		want error
	}{
		{"torn header", whole[:5], errShortRecord},
		{"torn payload", whole[:len(whole)-1], errShortRecord},
		{"flipped bit", flipped, errCorruptRecord},
		{"zero length", make([]byte, 16), errCorruptRecord},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, errCorruptRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := decodeFrame(tt.buf); !errors.Is(err, tt.want) {
				t.Fatalf("decodeFrame = %v, want %v", err, tt.want)
			}
		})
	}
}

// A torn final record (kill -9 during a write) is skipped with a log; the
// records before it are read back, and a new segment takes the appends.
func TestSpoolTornTailSkipped(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := openSpool(dir, 1<<20, 64<<10, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.commit(testFrames(t, frameCases...), len(frameCases)); err != nil {
		t.Fatal(err)
	}
	s.closeWriter()
	path := s.segPath(1)
	info, _ := os.Stat(path)
	if err := os.Truncate(path, info.Size()-2); err != nil {
		t.Fatal(err)
	}

	s, err = openSpool(dir, 1<<20, 64<<10, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.closeWriter()
	if _, n := s.usage(); n != int64(len(frameCases)-1) {
		t.Fatalf("%d intact records counted, want %d", n, len(frameCases)-1)
	}
	r := newSpoolReader(s, s.start)
	defer r.close()
	var got []string
	for range 10 {
		batch, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		for _, sr := range batch {
			if !sr.sealEnd {
				got = append(got, sr.rec.topic)
			}
		}
	}
	var want []string
	for _, c := range frameCases[:len(frameCases)-1] {
		want = append(want, c.topic)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("read back %v, want the intact records %v", got, want)
	}
	if !strings.Contains(logs.String(), "damaged record skipped") {
		t.Fatalf("no log of the torn record: %s", logs.String())
	}
}

func FuzzDecodeFrames(f *testing.F) {
	whole := testFrames(f, frameCases...)
	f.Add(whole)
	f.Add(whole[:len(whole)-1])
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, 1})
	f.Add([]byte(segmentMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out []byte
		n, err := scanFrames(data, func(r spoolRecord, _ int) {
			var err error
			if out, err = appendFrame(out, &r); err != nil {
				t.Fatalf("re-encode: %v", err)
			}
		})
		if n > len(data) || (err == nil && n != len(data)) {
			t.Fatalf("consumed %d of %d, err %v", n, len(data), err)
		}
		if !bytes.Equal(out, data[:n]) {
			t.Fatal("decoded records do not re-encode to the same bytes")
		}
	})
}
