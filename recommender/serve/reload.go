package serve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/reelguard/reelguard/recommender"
)

// ReloadConfig tunes a Reloader; the zero value works.
type ReloadConfig struct {
	// Interval between looks at the model folder; default 1s. Negative
	// turns polling off (reloads then happen on Trigger only).
	Interval time.Duration
	// Attempts to load a changed folder before giving up on that change (a
	// save may be in progress); default 3.
	Attempts int
	// RetryDelay between attempts; default 250ms.
	RetryDelay time.Duration
	// Files are the folder entries whose change means a new model; default
	// the current-version link (Publish swaps it), then model.json and
	// metadata.json of a flat folder (a save writes them last).
	Files []string
	// Load reads and verifies a model folder; required (a reload without it
	// fails and keeps the current model).
	Load func(dir string) (*recommender.Model, error)
}

var errNoLoader = errors.New("reload: no Load function configured")

// Reloader swaps a newer model from a folder into a Handler: when the
// folder's model files change (polled: size, modification time and file
// identity) or when asked (SIGHUP). A model that fails to load after the
// retries is logged and counted, and the current model keeps serving.
type Reloader struct {
	h   *Handler
	dir string
	cfg ReloadConfig
}

// NewReloader returns a reloader of dir into h.
func NewReloader(h *Handler, dir string, cfg ReloadConfig) *Reloader {
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 250 * time.Millisecond
	}
	if len(cfg.Files) == 0 {
		cfg.Files = []string{recommender.CurrentLink, recommender.ArtifactFile, recommender.MetadataFile}
	}
	if cfg.Load == nil {
		cfg.Load = func(string) (*recommender.Model, error) { return nil, errNoLoader }
	}
	return &Reloader{h: h, dir: dir, cfg: cfg}
}

// Run polls the folder and reloads on each value from trigger until ctx
// ends; it returns ctx's error. The folder's state at the call is taken as
// the one being served.
func (r *Reloader) Run(ctx context.Context, trigger <-chan os.Signal) error {
	last := r.fingerprint()
	var tick <-chan time.Time
	if r.cfg.Interval > 0 {
		t := time.NewTicker(r.cfg.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-trigger:
			r.h.logger.Info("reload requested")
			last = r.fingerprint()
			_ = r.Reload(ctx)
		case <-tick:
			if now := r.fingerprint(); !slices.Equal(now, last) {
				// Remember the change even if it fails to load: a broken
				// model is retried when it changes again, not every second.
				last = now
				_ = r.Reload(ctx)
			}
		}
	}
}

// Reload loads the folder, retrying, and swaps the model in. On failure the
// current model stays, the failure is logged and counted, and the last
// error is returned.
func (r *Reloader) Reload(ctx context.Context) error {
	var err error
	for attempt := range r.cfg.Attempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(r.cfg.RetryDelay):
			}
		}
		var m *recommender.Model
		if m, err = r.cfg.Load(r.dir); err == nil {
			old := r.h.Swap(m)
			r.h.logger.Info("model swapped", "version", m.Version(), "previous", versionOf(old))
			return nil
		}
	}
	r.h.metrics.SwapFailed()
	r.h.logger.Warn("model reload failed; keeping the current model",
		"dir", r.dir, "attempts", r.cfg.Attempts, "serving", versionOf(r.h.Model()), "err", err)
	return fmt.Errorf("reload %s: %w", r.dir, err)
}

func versionOf(m *recommender.Model) string {
	if m == nil {
		return ""
	}
	return m.Version()
}

// fileStamp identifies one state of a watched file. A save writes a fresh
// file and renames it into place, so its time changes (nanoseconds here).
type fileStamp struct {
	size, mtime int64
	missing     bool
}

func (r *Reloader) fingerprint() []fileStamp {
	fp := make([]fileStamp, len(r.cfg.Files))
	for i, name := range r.cfg.Files {
		fi, err := os.Stat(filepath.Join(r.dir, name)) // follows symlinks
		if err != nil {
			fp[i].missing = errors.Is(err, os.ErrNotExist)
			continue
		}
		fp[i].size, fp[i].mtime = fi.Size(), fi.ModTime().UnixNano()
	}
	return fp
}
