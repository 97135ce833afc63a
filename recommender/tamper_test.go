package recommender_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

// copyDir copies the regular files of src into a new folder.
func copyDir(tb testing.TB, src string) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), "copy")
	if err := os.Mkdir(dst, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, name := range dirNames(tb, src) {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dst
}

func flipByte(tb testing.TB, path string, at func(n int) int) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	data[at(len(data))] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// wantErrFor is the error a change to each file must produce: the signed
// part fails the signature, the data files fail their sha256.
var wantErrFor = map[string]error{
	recommender.MetadataFile:  recommender.ErrBadSignature,
	recommender.SignatureFile: recommender.ErrBadSignature,
	recommender.ArtifactFile:  recommender.ErrBadArtifact,
	recommender.SeenFile:      recommender.ErrBadArtifact,
	recommender.FactorsFile:   recommender.ErrBadArtifact,
}

// TestTamperRefused changes a signed folder in every way an attacker with
// write access could and expects each load refused with the right error.
func TestTamperRefused(t *testing.T) {
	_, pub := testKey(t)
	models := map[string]string{"popularity": saveSigned(t, trainSmall(t))}
	_, models["als"] = savedALS(t)
	// another, validly signed model whose metadata and signature get swapped in
	otherDir := saveSigned(t, recommender.TrainPopularity(nil, "pop-other"))
	for kind, dir := range models {
		type tamper struct {
			name string
			do   func(tb testing.TB, d string)
			want error
		}
		var tests []tamper
		for _, name := range dirNames(t, dir) {
			for _, pos := range []struct {
				where string
				at    func(n int) int
			}{{"first", func(int) int { return 0 }}, {"middle", func(n int) int { return n / 2 }}, {"last", func(n int) int { return n - 2 }}} {
				tests = append(tests, tamper{"flip " + pos.where + " byte of " + name, func(tb testing.TB, d string) {
					flipByte(tb, filepath.Join(d, name), pos.at)
				}, wantErrFor[name]})
			}
			tests = append(tests, tamper{"delete " + name, func(tb testing.TB, d string) {
				if err := os.Remove(filepath.Join(d, name)); err != nil {
					tb.Fatal(err)
				}
			}, wantErrFor[name]})
		}
		tests = append(tests,
			tamper{"extra file", func(tb testing.TB, d string) {
				copyFile(tb, filepath.Join(d, recommender.SeenFile), filepath.Join(d, "seen.bin.bak"))
			}, recommender.ErrBadArtifact},
			tamper{"another model's metadata and signature", func(tb testing.TB, d string) {
				copyFile(tb, filepath.Join(otherDir, recommender.MetadataFile), filepath.Join(d, recommender.MetadataFile))
				copyFile(tb, filepath.Join(otherDir, recommender.SignatureFile), filepath.Join(d, recommender.SignatureFile))
			}, recommender.ErrBadArtifact},
			tamper{"another model's metadata alone", func(tb testing.TB, d string) {
				copyFile(tb, filepath.Join(otherDir, recommender.MetadataFile), filepath.Join(d, recommender.MetadataFile))
			}, recommender.ErrBadSignature},
			tamper{"data file replaced by a symlink", func(tb testing.TB, d string) {
				p := filepath.Join(d, recommender.SeenFile)
				if err := os.Rename(p, p+".real"); err != nil {
					tb.Fatal(err)
				}
				if err := os.Symlink(p+".real", p); err != nil {
					tb.Fatal(err)
				}
			}, recommender.ErrBadArtifact},
		)
		if kind == "popularity" {
			_, alsDir := savedALS(t)
			tests = append(tests, tamper{"factors file added", func(tb testing.TB, d string) {
				copyFile(tb, filepath.Join(alsDir, recommender.FactorsFile), filepath.Join(d, recommender.FactorsFile))
			}, recommender.ErrBadArtifact})
		}
		for _, tc := range tests {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				d := copyDir(t, dir)
				if _, err := recommender.LoadVerified(d, pub); err != nil {
					t.Fatalf("untouched copy refused: %v", err)
				}
				tc.do(t, d)
				m, err := recommender.LoadVerified(d, pub)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Load = %v, %v; want %v", m, err, tc.want)
				}
			})
		}
		t.Run(kind+"/wrong key", func(t *testing.T) {
			if _, err := recommender.LoadVerified(dir, otherKey(t)); !errors.Is(err, recommender.ErrBadSignature) {
				t.Fatalf("Load under another key = %v, want ErrBadSignature", err)
			}
		})
	}
}
