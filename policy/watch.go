package policy

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io/fs"
	"os"
	"strings"
	"time"
)

// DefaultWatchInterval is Watch's poll period when given none: an edit
// goes live within two seconds.
const DefaultWatchInterval = time.Second

// Watch polls the policy folder every interval (DefaultWatchInterval when
// <= 0) until ctx ends. When the names, sizes or modification times of its
// .rego and data.json files change, it calls Reload, so a good edit goes
// live and a bad one leaves the last good policy in force, and hands the
// result to onResult (which may be nil): the gateway raises a policy alert
// from it; Report.Applied tells a new revision from an undone edit. Run it
// in its own goroutine.
func (e *Engine) Watch(ctx context.Context, interval time.Duration, onResult func(Report, error)) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	// The zero stamp makes the first tick reload: an edit made between
	// NewEngine and Watch is not missed (an unchanged folder is a no-op).
	var last [32]byte
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stamp := folderStamp(e.dir)
		if stamp == last {
			continue
		}
		rep, err := e.Reload(ctx)
		if ctx.Err() != nil {
			return
		}
		last = stamp
		quiet := first && err == nil && !rep.Applied
		first = false
		if onResult != nil && !quiet {
			onResult(rep, err)
		}
	}
}

// folderStamp digests the names, sizes and modification times of the
// policy files under dir: cheap to take each second, unlike reading them.
// An unreadable folder stamps as the error text, so it also counts as a
// change (Reload then reports it).
func folderStamp(dir string) [32]byte {
	h := sha256.New()
	var n [8]byte
	err := fs.WalkDir(os.DirFS(dir), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !isPolicyName(name) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h.Write([]byte(name))
		binary.BigEndian.PutUint64(n[:], uint64(info.Size()))
		h.Write(n[:])
		binary.BigEndian.PutUint64(n[:], uint64(info.ModTime().UnixNano()))
		h.Write(n[:])
		return nil
	})
	if err != nil {
		h.Write([]byte(err.Error()))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
