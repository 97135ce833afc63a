package recommender

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// FactorsFile holds a KindALS model's factor matrices beside model.json:
//
//	magic "RGFM", format uint32 (1),
//	user rows uint64, user cols uint64, item rows uint64, item cols uint64,
//	user matrix then item matrix, row-major float32,
//
// all little-endian. model.json names the rows and carries the file's sha256,
// so a factors file from another save is refused rather than served.
const FactorsFile = "factors.bin"

const (
	factorsMagic      = "RGFM"
	factorsFormat     = 1
	factorsHeaderSize = 4 + 4 + 4*8
)

// alsArtifact is the "als" object of model.json.
type alsArtifact struct {
	Factors       int      `json:"factors"`
	FactorsSHA256 string   `json:"factors_sha256"`
	Users         []string `json:"users"` // row order of the user matrix
	Items         []string `json:"items"` // row order of the item matrix, ascending
}

// writeFactors streams the matrices to w and returns their sha256 in hex.
func writeFactors(w io.Writer, a *alsFactors) (string, error) {
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<16)
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
	if err := bw.Flush(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readFactors checks data against model.json's description and decodes it.
func readFactors(data []byte, meta *alsArtifact) (users, items []float32, err error) {
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != meta.FactorsSHA256 {
		return nil, nil, fmt.Errorf("%w: %s does not match the sha256 in %s", ErrBadArtifact, FactorsFile, ArtifactFile)
	}
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
	f := uint64(meta.Factors)
	want := [4]uint64{uint64(len(meta.Users)), f, uint64(len(meta.Items)), f}
	if dims != want {
		return nil, nil, fmt.Errorf("%w: %s holds %d×%d users and %d×%d items, %s says %d×%d and %d×%d",
			ErrBadArtifact, FactorsFile, dims[0], dims[1], dims[2], dims[3], ArtifactFile, want[0], want[1], want[2], want[3])
	}
	body := data[factorsHeaderSize:]
	if uint64(len(body)) != 4*(want[0]+want[2])*f {
		return nil, nil, fmt.Errorf("%w: %s is %d bytes, want %d", ErrBadArtifact, FactorsFile,
			len(data), factorsHeaderSize+4*(want[0]+want[2])*f)
	}
	all := make([]float32, len(body)/4)
	for i := range all {
		x := math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, nil, fmt.Errorf("%w: %s holds a non-finite factor", ErrBadArtifact, FactorsFile)
		}
		all[i] = x
	}
	split := len(meta.Users) * meta.Factors
	return all[:split:split], all[split:], nil
}

// loadALS reads dir/factors.bin as model.json a describes it.
func loadALS(dir string, a artifact) (*alsFactors, error) {
	meta := a.ALS
	switch {
	case meta == nil:
		return nil, fmt.Errorf("%w: kind %q without an \"als\" section", ErrBadArtifact, KindALS)
	case meta.Factors < 1 || meta.Factors > maxFactors:
		return nil, fmt.Errorf("%w: %d factors, want 1..%d", ErrBadArtifact, meta.Factors, maxFactors)
	case !slices.IsSorted(meta.Items) || len(slices.Compact(slices.Clone(meta.Items))) != len(meta.Items):
		return nil, fmt.Errorf("%w: als items are not distinct ids in ascending order", ErrBadArtifact)
	}
	userRow := indexOf(meta.Users)
	if len(userRow) != len(meta.Users) {
		return nil, fmt.Errorf("%w: als users listed twice", ErrBadArtifact)
	}
	data, err := os.ReadFile(filepath.Join(dir, FactorsFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadArtifact, err)
	}
	userVecs, itemVecs, err := readFactors(data, meta)
	if err != nil {
		return nil, err
	}
	ptr, idx, err := seenIndex(meta.Users, indexOf(meta.Items), a.Seen)
	if err != nil {
		return nil, err
	}
	return &alsFactors{
		factors: meta.Factors, users: meta.Users, userRow: userRow, items: meta.Items,
		userVecs: userVecs, itemVecs: itemVecs, seenPtr: ptr, seenIdx: idx,
	}, nil
}

// seenIndex turns the seen lists into sorted item indexes per user row.
func seenIndex(users []string, itemCol map[string]int32, seen map[string][]string) ([]int64, []int32, error) {
	ptr := make([]int64, len(users)+1)
	var idx []int32
	for r, user := range users {
		start := len(idx)
		for _, item := range seen[user] {
			c, ok := itemCol[item]
			if !ok {
				return nil, nil, fmt.Errorf("%w: user %q saw item %q, which has no factors", ErrBadArtifact, clip(user), clip(item))
			}
			idx = append(idx, c)
		}
		row := idx[start:]
		slices.Sort(row)
		idx = append(idx[:start], slices.Compact(row)...)
		ptr[r+1] = int64(len(idx))
	}
	return ptr, idx, nil
}
