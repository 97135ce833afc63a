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
// retries is logged and counted, and the current model keeps serving. When
// the Handler has a canary folder (Config.Canary.Dir), the Reloader loads
// the canary when it starts and watches that folder the same way.
type Reloader struct {
	h   *Handler
	dir string
	cfg ReloadConfig
}

// NewReloader returns a reloader of dir (and of h's canary folder) into h.
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

// Run polls the folders and reloads on each value from trigger until ctx
// ends; it returns ctx's error. The main folder's state at the call is taken
// as the one being served; the canary is loaded first when there is one.
func (r *Reloader) Run(ctx context.Context, trigger <-chan os.Signal) error {
	last := r.fingerprint(r.dir)
	var lastCanary []fileStamp
	if canary := r.h.CanaryDir(); canary != "" {
		lastCanary = r.fingerprint(canary)
		_ = r.ReloadCanary(ctx) // a failure is logged; canary users get main meanwhile
	}
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
			last = r.fingerprint(r.dir)
			_ = r.Reload(ctx)
			if canary := r.h.CanaryDir(); canary != "" {
				lastCanary = r.fingerprint(canary)
				_ = r.ReloadCanary(ctx)
			}
		case <-tick:
			// Remember a change even if it fails to load: a broken model
			// is retried when it changes again, not every second.
			if r.changed(r.dir, &last) {
				_ = r.Reload(ctx)
			}
			if canary := r.h.CanaryDir(); canary != "" && r.changed(canary, &lastCanary) {
				_ = r.ReloadCanary(ctx)
			}
		}
	}
}

// changed reports whether dir's files differ from *last, updating it.
func (r *Reloader) changed(dir string, last *[]fileStamp) bool {
	now := r.fingerprint(dir)
	if slices.Equal(now, *last) {
		return false
	}
	*last = now
	return true
}

// Reload loads the main folder, retrying, and swaps the model in. On
// failure the current model stays, the failure is logged and counted, and
// the last error is returned.
func (r *Reloader) Reload(ctx context.Context) error {
	return r.reload(ctx, r.dir, ArmMain, r.h.Swap, r.h.Model)
}

// ReloadCanary is Reload for the Handler's canary folder; it does nothing
// when there is none.
func (r *Reloader) ReloadCanary(ctx context.Context) error {
	if r.h.CanaryDir() == "" {
		return nil
	}
	return r.reload(ctx, r.h.CanaryDir(), ArmCanary, r.h.SwapCanary, r.h.Canary)
}

func (r *Reloader) reload(ctx context.Context, dir, arm string, swap func(*recommender.Model) *recommender.Model,
	current func() *recommender.Model) error {
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
		if m, err = r.cfg.Load(dir); err == nil {
			old := swap(m)
			r.h.logger.Info("model swapped", "arm", arm, "model", m.Version(), "previous", versionOf(old))
			return nil
		}
	}
	r.h.metrics.SwapFailed()
	r.h.logger.Warn("model reload failed; keeping the current model", "arm", arm,
		"dir", dir, "attempts", r.cfg.Attempts, "model", versionOf(current()), "err", err)
	return fmt.Errorf("reload %s: %w", dir, err)
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

func (r *Reloader) fingerprint(dir string) []fileStamp {
	fp := make([]fileStamp, len(r.cfg.Files))
	for i, name := range r.cfg.Files {
		fi, err := os.Stat(filepath.Join(dir, name)) // follows symlinks
		if err != nil {
			fp[i].missing = errors.Is(err, os.ErrNotExist)
			continue
		}
		fp[i].size, fp[i].mtime = fi.Size(), fi.ModTime().UnixNano()
	}
	return fp
}
