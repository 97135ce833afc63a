package recommender

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// SeenFile is the seen-items index inside a model folder:
//
//	magic "RGSI", format uint32 (1),
//	users uint64, items uint64, entries uint64,
//	user ids then item ids, each uint32 length + bytes, strictly ascending,
//	row offsets: users+1 uint64 (0 first, entries last, non-decreasing),
//	item indices: entries uint32, strictly ascending within each user's row,
//
// all little-endian. Its user and item orders are also the row orders of
// factors.bin.
const SeenFile = "seen.bin"

const (
	seenMagic      = "RGSI"
	seenFormat     = 1
	seenHeaderSize = 4 + 4 + 3*8
	// maxIDLen bounds one user or item id; course slugs are far shorter.
	maxIDLen = 4096
)

// seenIndex is who interacted with what in training, in compressed rows:
// user row r saw items idx[ptr[r]:ptr[r+1]], ascending column numbers into
// items. Users and items are ascending, so a column's order is its id order.
type seenIndex struct {
	users   []string
	userRow map[string]int32
	items   []string
	ptr     []int64
	idx     []int32
}

// row returns the columns user row r saw, ascending.
func (s *seenIndex) row(r int32) []int32 { return s.idx[s.ptr[r]:s.ptr[r+1]] }

// seenFromSets builds the index from per-user item sets (training's form).
func seenFromSets(sets map[string]map[string]struct{}) *seenIndex {
	users := make([]string, 0, len(sets))
	all := make(map[string]struct{})
	for u, items := range sets {
		users = append(users, u)
		for it := range items {
			all[it] = struct{}{}
		}
	}
	slices.Sort(users)
	items := sortedKeys(all)
	col := indexOf(items)
	s := &seenIndex{users: users, userRow: indexOf(users), items: items, ptr: make([]int64, len(users)+1)}
	for r, u := range users {
		start := len(s.idx)
		for it := range sets[u] {
			s.idx = append(s.idx, col[it])
		}
		slices.Sort(s.idx[start:])
		s.ptr[r+1] = int64(len(s.idx))
	}
	return s
}

// seenFromALS shares an ALS model's row orders and seen matrix: one copy.
func seenFromALS(a *alsFactors) *seenIndex {
	return &seenIndex{users: a.users, userRow: a.userRow, items: a.items, ptr: a.seenPtr, idx: a.seenIdx}
}

// writeSeen encodes s as SeenFile.
func writeSeen(w io.Writer, s *seenIndex) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	hdr := make([]byte, 0, seenHeaderSize)
	hdr = append(hdr, seenMagic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, seenFormat)
	for _, n := range []int{len(s.users), len(s.items), len(s.idx)} {
		hdr = binary.LittleEndian.AppendUint64(hdr, uint64(n))
	}
	bw.Write(hdr)
	var buf []byte
	for _, ids := range [][]string{s.users, s.items} {
		for _, id := range ids {
			buf = binary.LittleEndian.AppendUint32(buf[:0], uint32(len(id)))
			bw.Write(buf)
			bw.WriteString(id) // a bufio.Writer keeps the first error for Flush
		}
	}
	for _, p := range s.ptr {
		bw.Write(binary.LittleEndian.AppendUint64(buf[:0], uint64(p)))
	}
	for _, c := range s.idx {
		bw.Write(binary.LittleEndian.AppendUint32(buf[:0], uint32(c)))
	}
	return bw.Flush()
}

// seenReader walks a binary model file's bytes (SeenFile unless name says
// otherwise); every read is bounds-checked first.
type seenReader struct {
	data []byte
	off  int
	name string
}

func (r *seenReader) file() string {
	if r.name == "" {
		return SeenFile
	}
	return r.name
}

func (r *seenReader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.data)-r.off) {
		return nil, fmt.Errorf("%w: %s is truncated at byte %d", ErrBadArtifact, r.file(), r.off)
	}
	b := r.data[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// parseSeen decodes and checks SeenFile; it never trusts a count before
// checking that the bytes to back it are there.
func parseSeen(data []byte) (*seenIndex, error) {
	if len(data) < seenHeaderSize || !bytes.Equal(data[:4], []byte(seenMagic)) {
		return nil, fmt.Errorf("%w: %s is not a seen-items index", ErrBadArtifact, SeenFile)
	}
	if v := binary.LittleEndian.Uint32(data[4:]); v != seenFormat {
		return nil, fmt.Errorf("%w: %s format %d, want %d", ErrBadArtifact, SeenFile, v, seenFormat)
	}
	nUsers, nItems, nEntries := binary.LittleEndian.Uint64(data[8:]), binary.LittleEndian.Uint64(data[16:]), binary.LittleEndian.Uint64(data[24:])
	rest := uint64(len(data) - seenHeaderSize)
	// Each user costs at least 4+8 bytes, each item 4, each entry 4.
	if nUsers > math.MaxInt32 || nItems > math.MaxInt32 || nUsers > rest/12 || nItems > rest/4 || nEntries > rest/4 {
		return nil, fmt.Errorf("%w: %s counts exceed its size", ErrBadArtifact, SeenFile)
	}
	r := &seenReader{data: data, off: seenHeaderSize}
	users, err := r.ids(int(nUsers), "user")
	if err != nil {
		return nil, err
	}
	items, err := r.ids(int(nItems), "item")
	if err != nil {
		return nil, err
	}
	s := &seenIndex{users: users, items: items}
	if s.ptr, err = r.offsets(int(nUsers), nEntries); err != nil {
		return nil, err
	}
	if s.idx, err = r.indices(s.ptr, nItems); err != nil {
		return nil, err
	}
	if r.off != len(data) {
		return nil, fmt.Errorf("%w: %s has %d trailing bytes", ErrBadArtifact, SeenFile, len(data)-r.off)
	}
	s.userRow = indexOf(users)
	return s, nil
}

// ids reads n strictly ascending ids into substrings of one string, so a
// million users cost one allocation, not a million.
func (r *seenReader) ids(n int, what string) ([]string, error) {
	start := r.off
	spans := make([][2]int, n)
	for i := range n {
		lb, err := r.take(4)
		if err != nil {
			return nil, err
		}
		l := binary.LittleEndian.Uint32(lb)
		if l > maxIDLen {
			return nil, fmt.Errorf("%w: %s %s id %d is %d bytes long", ErrBadArtifact, SeenFile, what, i+1, l)
		}
		if _, err := r.take(uint64(l)); err != nil {
			return nil, err
		}
		spans[i] = [2]int{r.off - int(l) - start, r.off - start}
	}
	blob := string(r.data[start:r.off])
	out := make([]string, n)
	for i, sp := range spans {
		out[i] = blob[sp[0]:sp[1]]
		if i > 0 && strings.Compare(out[i-1], out[i]) >= 0 {
			return nil, fmt.Errorf("%w: %s %s ids are not distinct and ascending", ErrBadArtifact, SeenFile, what)
		}
	}
	return out, nil
}

func (r *seenReader) offsets(users int, entries uint64) ([]int64, error) {
	b, err := r.take(8 * uint64(users+1))
	if err != nil {
		return nil, err
	}
	ptr := make([]int64, users+1)
	for i := range ptr {
		p := binary.LittleEndian.Uint64(b[8*i:])
		if p > entries || (i > 0 && p < uint64(ptr[i-1])) || (i == 0 && p != 0) {
			return nil, fmt.Errorf("%w: %s row offset %d is out of order", ErrBadArtifact, r.file(), i)
		}
		ptr[i] = int64(p)
	}
	if uint64(ptr[users]) != entries {
		return nil, fmt.Errorf("%w: %s rows cover %d entries, header says %d", ErrBadArtifact, r.file(), ptr[users], entries)
	}
	return ptr, nil
}

func (r *seenReader) indices(ptr []int64, items uint64) ([]int32, error) {
	entries := uint64(ptr[len(ptr)-1])
	b, err := r.take(4 * entries)
	if err != nil {
		return nil, err
	}
	idx := make([]int32, entries)
	for u := range len(ptr) - 1 {
		for j := ptr[u]; j < ptr[u+1]; j++ {
			c := binary.LittleEndian.Uint32(b[4*j:])
			if uint64(c) >= items || (j > ptr[u] && int32(c) <= idx[j-1]) {
				return nil, fmt.Errorf("%w: %s row %d holds a bad or repeated item index", ErrBadArtifact, SeenFile, u)
			}
			idx[j] = int32(c)
		}
	}
	return idx, nil
}
