package main

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

// runRollback points the model root's current version back at its parent,
// after verifying the parent, and prints the versions.
func runRollback(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rollback", stderr)
	dir := fs.String("model", "", "model root written by train --out (required)")
	keys := fs.String("keys", "", "keys directory holding model.pub (default $REELGUARD_DATA/keys)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", *dir); err != nil {
		return err
	}
	pub, err := recommender.LoadVerifyKey(keysDir(*keys))
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	from, to, err := recommender.Rollback(*dir, pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rolled back %s -> %s\n", from, to)
	return printVersions(stdout, *dir, pub)
}

// printVersions lists the versions oldest first, "*" marking the current one.
func printVersions(w io.Writer, root string, pub ed25519.PublicKey) error {
	versions, err := recommender.Versions(root, pub)
	if err != nil {
		return err
	}
	for _, v := range versions {
		mark := " "
		if v.Current {
			mark = "*"
		}
		if v.Err != nil {
			fmt.Fprintf(w, "%s %s\tunverified: %v\n", mark, v.Version, v.Err)
			continue
		}
		parent := v.Parent
		if parent == "" {
			parent = "-"
		}
		fmt.Fprintf(w, "%s %s\t%s\tparent %s\t%s\n", mark, v.Version, v.Kind, parent, v.Created.Format(time.RFC3339))
	}
	return nil
}
