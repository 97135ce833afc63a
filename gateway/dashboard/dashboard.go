// Package dashboard is the security dashboard of the admin listener: a page
// of our own (plain HTML, CSS and ES modules, embedded in the binary, nothing
// fetched from elsewhere) that asks for an admin token and shows only what
// the admin API on the same origin answers for it.
//
// It imports nothing of this project; gateway mounts Handler under
// /dashboard/. The page itself is public (it holds no data): everything it
// shows comes from the admin API, which checks the token.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is where the gateway mounts Handler.
const Prefix = "/dashboard/"

// contentSecurityPolicy allows the page only its own scripts, styles and
// connections: no inline code, no eval, no frames, no plugins, and Trusted
// Types so that even a stray innerHTML with a string throws instead of
// parsing attacker-controlled alert evidence as markup.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"

// cacheControl makes browsers revalidate every asset (cheap: the ETag is
// the content hash), so an upgraded binary is never mixed with stale
// scripts; the names carry no version to bust a long max-age.
const cacheControl = "no-cache"

//go:embed static
var static embed.FS

// contentTypes is fixed here rather than read from the system's MIME
// tables, which differ between machines.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the dashboard under Prefix: the page at Prefix itself, its
// assets by name, 404 for anything else (no directory listing), 405 for
// methods other than GET and HEAD.
func Handler() http.Handler {
	assets := loadAssets()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w.Header())
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		a, ok := assets[assetName(r.URL.Path)]
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", a.contentType)
		w.Header().Set("ETag", a.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}

// assetName maps a request path to an embedded file name: Prefix itself is
// the page; "" means no such asset.
func assetName(p string) string {
	rest, ok := strings.CutPrefix(p, Prefix)
	switch {
	case !ok:
		return ""
	case rest == "":
		return "index.html"
	case strings.ContainsAny(rest, `/\`) || strings.HasPrefix(rest, "."):
		return "" // the assets are flat: no folders, no dot files or segments
	}
	return rest
}

func setHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", cacheControl)
}

// loadAssets reads the embedded files once. Only files with a known type
// are served; the embed pattern makes a read failure impossible at run
// time, so one would only leave that file out.
func loadAssets() map[string]asset {
	assets := make(map[string]asset)
	entries, _ := fs.ReadDir(static, "static")
	for _, e := range entries {
		ctype, known := contentTypes[path.Ext(e.Name())]
		if e.IsDir() || !known {
			continue
		}
		body, err := fs.ReadFile(static, "static/"+e.Name())
		if err != nil {
			continue
		}
		sum := sha256.Sum256(body)
		assets[e.Name()] = asset{body: body, contentType: ctype, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	}
	return assets
}
