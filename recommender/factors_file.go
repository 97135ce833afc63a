package recommender

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
)

// FactorsFile holds a KindALS model's factor matrices:
//
//	magic "RGFM", format uint32 (1),
//	user rows uint64, user cols uint64, item rows uint64, item cols uint64,
//	user matrix then item matrix, row-major float32,
//
// all little-endian. The rows are in seen.bin's user and item orders; the
// dimensions are checked against it and model.json.
const FactorsFile = "factors.bin"

const (
	factorsMagic      = "RGFM"
	factorsFormat     = 1
	factorsHeaderSize = 4 + 4 + 4*8
)

// alsArtifact is the "als" object of model.json.
type alsArtifact struct {
	Factors int `json:"factors"`
}

// writeFactors streams the matrices to w.
func writeFactors(w io.Writer, a *alsFactors) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	hdr := make([]byte, 0, factorsHeaderSize)
	hdr = append(hdr, factorsMagic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, factorsFormat)
	for _, n := range []int{len(a.users), a.factors, len(a.items), a.factors} {
		hdr = binary.LittleEndian.AppendUint64(hdr, uint64(n))
	}
	bw.Write(hdr)
	buf := make([]byte, 0, 4096)
	for _, m := range [][]float32{a.userVecs, a.itemVecs} {
		for chunk := range slices.Chunk(m, 1024) {
			buf = buf[:0]
			for _, x := range chunk {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			}
			bw.Write(buf) // a bufio.Writer keeps the first error for Flush
		}
	}
	return bw.Flush()
}

// readFactors checks data's shape (users×f and items×f) and decodes it.
func readFactors(data []byte, f, nUsers, nItems int) (users, items []float32, err error) {
	if len(data) < factorsHeaderSize || !bytes.Equal(data[:4], []byte(factorsMagic)) {
		return nil, nil, fmt.Errorf("%w: %s is not a factors file", ErrBadArtifact, FactorsFile)
	}
	if v := binary.LittleEndian.Uint32(data[4:]); v != factorsFormat {
		return nil, nil, fmt.Errorf("%w: %s format %d, want %d", ErrBadArtifact, FactorsFile, v, factorsFormat)
	}
	var dims [4]uint64
	for i := range dims {
		dims[i] = binary.LittleEndian.Uint64(data[8+8*i:])
	}
	want := [4]uint64{uint64(nUsers), uint64(f), uint64(nItems), uint64(f)}
	if dims != want {
		return nil, nil, fmt.Errorf("%w: %s holds %d×%d users and %d×%d items, want %d×%d and %d×%d",
			ErrBadArtifact, FactorsFile, dims[0], dims[1], dims[2], dims[3], want[0], want[1], want[2], want[3])
	}
	body := data[factorsHeaderSize:]
	if uint64(len(body)) != 4*(want[0]+want[2])*want[1] {
		return nil, nil, fmt.Errorf("%w: %s is %d bytes, want %d", ErrBadArtifact, FactorsFile,
			len(data), factorsHeaderSize+4*(want[0]+want[2])*want[1])
	}
	all := make([]float32, len(body)/4)
	for i := range all {
		x := math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, nil, fmt.Errorf("%w: %s holds a non-finite factor", ErrBadArtifact, FactorsFile)
		}
		all[i] = x
	}
	split := nUsers * f
	return all[:split:split], all[split:], nil
}

// loadALS decodes factors.bin; the ALS model shares the seen index's ids,
// row map and seen matrix rather than holding copies.
func loadALS(data []byte, meta *alsArtifact, idx *seenIndex) (*alsFactors, error) {
	switch {
	case meta == nil:
		return nil, fmt.Errorf("%w: kind %q without an \"als\" section", ErrBadArtifact, KindALS)
	case meta.Factors < 1 || meta.Factors > maxFactors:
		return nil, fmt.Errorf("%w: %d factors, want 1..%d", ErrBadArtifact, meta.Factors, maxFactors)
	}
	userVecs, itemVecs, err := readFactors(data, meta.Factors, len(idx.users), len(idx.items))
	if err != nil {
		return nil, err
	}
	return &alsFactors{
		factors: meta.Factors, users: idx.users, userRow: idx.userRow, items: idx.items,
		userVecs: userVecs, itemVecs: itemVecs, seenPtr: idx.ptr, seenIdx: idx.idx,
	}, nil
}
