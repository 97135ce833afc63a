package recommender

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// ItemItemFile holds an item-based model's weights:
//
//	magic "RGII", format uint32 (1), layout uint32 (1 dense, 2 sparse),
//	items uint64, entries uint64,
//	dense:  items×items float32, row-major (row i holds item i's votes);
//	sparse: row offsets (items+1) uint64, then entries uint32 columns,
//	        then entries float32 weights,
//
// all little-endian, in seen.bin's item order.
const ItemItemFile = "itemitem.bin"

const (
	itemItemMagic      = "RGII"
	itemItemFormat     = 1
	itemItemHeaderSize = 4 + 4 + 4 + 8 + 8
	layoutDense        = 1
	layoutSparse       = 2
)

// writeItemItem streams m's weights to w.
func writeItemItem(w io.Writer, m *itemItem) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	layout, entries := uint32(layoutSparse), uint64(len(m.nbrIdx))
	if m.weights != nil {
		layout, entries = layoutDense, uint64(len(m.weights))
	}
	hdr := append([]byte(itemItemMagic), make([]byte, 0, itemItemHeaderSize-4)...)
	hdr = binary.LittleEndian.AppendUint32(hdr, itemItemFormat)
	hdr = binary.LittleEndian.AppendUint32(hdr, layout)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(m.items)))
	hdr = binary.LittleEndian.AppendUint64(hdr, entries)
	bw.Write(hdr)
	var buf [8]byte
	if layout == layoutSparse {
		for _, p := range m.nbrPtr {
			bw.Write(binary.LittleEndian.AppendUint64(buf[:0], uint64(p)))
		}
		for _, c := range m.nbrIdx {
			bw.Write(binary.LittleEndian.AppendUint32(buf[:0], uint32(c)))
		}
	}
	for _, x := range append(m.weights, m.nbrVal...) {
		bw.Write(binary.LittleEndian.AppendUint32(buf[:0], math.Float32bits(x)))
	}
	return bw.Flush() // a bufio.Writer keeps the first error for Flush
}

// loadItemItem decodes ItemItemFile against the seen index, whose users,
// items and seen matrix the model shares.
func loadItemItem(data []byte, kind Kind, idx *seenIndex) (*itemItem, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadArtifact, ItemItemFile, fmt.Sprintf(format, args...))
	}
	var err error
	if len(data) < itemItemHeaderSize || !bytes.Equal(data[:4], []byte(itemItemMagic)) {
		return nil, bad("not an item-item weights file")
	}
	format, layout := binary.LittleEndian.Uint32(data[4:]), binary.LittleEndian.Uint32(data[8:])
	items, entries := binary.LittleEndian.Uint64(data[12:]), binary.LittleEndian.Uint64(data[20:])
	want := map[Kind]uint32{KindEASE: layoutDense, KindItemKNN: layoutSparse}[kind]
	switch {
	case format != itemItemFormat:
		return nil, bad("format %d, want %d", format, itemItemFormat)
	case layout != want:
		return nil, bad("layout %d for a %s model", layout, kind)
	case items != uint64(len(idx.items)):
		return nil, bad("%d items, seen index has %d", items, len(idx.items))
	}
	m := &itemItem{items: idx.items, users: idx.users, userRow: idx.userRow, seenPtr: idx.ptr, seenIdx: idx.idx}
	r := &seenReader{data: data, off: itemItemHeaderSize, name: ItemItemFile}
	if layout == layoutDense {
		if entries != items*items {
			return nil, bad("%d entries for %d items", entries, items)
		}
		m.weights, err = readFloats(r, entries)
	} else {
		err = readNeighbours(r, m, entries)
	}
	if err != nil {
		return nil, err
	}
	if r.off != len(r.data) {
		return nil, bad("%d bytes after the weights", len(r.data)-r.off)
	}
	return m, nil
}

// readNeighbours decodes the sparse layout's offsets, columns and weights.
func readNeighbours(r *seenReader, m *itemItem, entries uint64) error {
	ptr, err := r.offsets(len(m.items), entries)
	if err != nil {
		return err
	}
	raw, err := r.take(4 * entries)
	if err != nil {
		return err
	}
	m.nbrPtr, m.nbrIdx = ptr, make([]int32, entries)
	for i := range m.nbrIdx {
		c := binary.LittleEndian.Uint32(raw[4*i:])
		if uint64(c) >= uint64(len(m.items)) {
			return fmt.Errorf("%w: %s: neighbour column %d out of range", ErrBadArtifact, ItemItemFile, c)
		}
		m.nbrIdx[i] = int32(c)
	}
	m.nbrVal, err = readFloats(r, entries)
	return err
}

// readFloats decodes n finite little-endian float32s.
func readFloats(r *seenReader, n uint64) ([]float32, error) {
	raw, err := r.take(4 * n)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	for i := range out {
		x := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("%w: %s: a non-finite weight", ErrBadArtifact, r.file())
		}
		out[i] = x
	}
	return out, nil
}
