package main

import (
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	data := fs.String("data", "", "input file (required)")
	format := fs.String("format", "movielog", "input format: movielens (u.data, ratings.dat, ratings.csv) or movielog (course log lines)")
	out := fs.String("out", "", "model root: the model goes to DIR/versions/<version>, and DIR/current points at it (required)")
	keys := fs.String("keys", "", "keys directory holding the model signing key, created when missing (default $REELGUARD_DATA/keys)")
	algo := fs.String("algo", "auto", "algorithm: auto (best nDCG@10 on a validation split), "+strings.Join(algoOrder, ", "))
	version := fs.String("version", "", `model version (default "<algo>-<unix time>", e.g. "als-1700000000")`)
	cfg := algoFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkTrainFlags(fs, *data, *out, *format, *algo, *version); err != nil {
		return err
	}
	if err := cfg.check(); err != nil {
		return err
	}
	key, err := signingKey(*keys, stderr)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	dataSum, err := fileSHA256(*data)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	in, err := readInteractions(*data, *format, stderr)
	if err != nil {
		return err
	}
	if *algo == "auto" {
		if *algo, err = cfg.autoSelect(in, stderr); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	if *version == "" {
		*version = recommender.FreeVersion(*out, *algo+"-"+strconv.FormatInt(time.Now().Unix(), 10))
	}
	if *algo == "als" {
		cfg.ALS.Progress = alsProgress(stderr, cfg.ALS.Iterations)
	}
	m, err := cfg.trainers()[*algo](in, *version)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	parent, err := recommender.Publish(*out, m, recommender.SaveOptions{Key: key, DataSHA256: dataSum})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	meta := m.Meta()
	fmt.Fprintf(stdout, "trained %s (%s): %d users, %d items, %d interactions -> %s (parent %s)\n",
		meta.Version, meta.Kind, meta.Users, meta.Items, meta.Interactions,
		filepath.Join(*out, recommender.VersionsDir, meta.Version), cmp.Or(parent, "none"))
	return nil
}

// checkTrainFlags refuses missing or malformed train flags.
func checkTrainFlags(fs *flag.FlagSet, data, out, format, algo, version string) error {
	for name, v := range map[string]string{"data": data, "out": out} {
		if err := required(fs, name, v); err != nil {
			return err
		}
	}
	switch {
	case format != "movielens" && format != "movielog":
		return fmt.Errorf("%w: train: --format must be movielens or movielog, not %q", errUsage, format)
	case algo != "auto" && !slices.Contains(algoOrder, algo):
		return fmt.Errorf("%w: train: --algo must be auto or one of %s, not %q", errUsage, strings.Join(algoOrder, ", "), algo)
	case version != "" && !recommender.ValidVersion(version):
		return fmt.Errorf("%w: train: --version %q: use letters, digits and . _ + - (not first)", errUsage, version)
	}
	return nil
}

// keysDir is --keys, defaulting to the data folder's keys directory
// ($REELGUARD_DATA/keys, REELGUARD_DATA defaulting to ./.reelguard).
func keysDir(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return filepath.Join(cmp.Or(os.Getenv("REELGUARD_DATA"), ".reelguard"), "keys")
}

// modelLoader loads and verifies model folders with the key in --keys.
func modelLoader(keys string) func(dir string) (*recommender.Model, error) {
	opts := recommender.LoadOptions{KeysDir: keysDir(keys)}
	return func(dir string) (*recommender.Model, error) { return recommender.LoadWith(dir, opts) }
}

// signingKey loads the data folder's model signing key, creating it (and
// saying so) when missing.
func signingKey(dir string, stderr io.Writer) (ed25519.PrivateKey, error) {
	dir = keysDir(dir)
	created, err := recommender.EnsureSigningKey(dir)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(stderr, "recommender: created model signing key %s\n", filepath.Join(dir, recommender.SigningKeyFile))
	}
	return recommender.LoadSigningKey(dir)
}

// fileSHA256 returns the hex sha256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// float32Var defines a float32 flag.
func float32Var(fs *flag.FlagSet, p *float32, name string, value float32, usage string) {
	*p = value
	fs.Func(name, fmt.Sprintf("%s (default %v)", usage, value), func(s string) error {
		v, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return err
		}
		*p = float32(v)
		return nil
	})
}
